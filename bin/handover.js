#!/usr/bin/env node
import { run } from '../lib/cli/process.js';

process.exitCode = await run(process.argv.slice(2));
