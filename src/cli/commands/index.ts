import type { Command } from '../command.ts';
import { exportCommand } from './export.ts';
import { inspectCommand } from './inspect.ts';
import { loadCommand } from './load.ts';
import { lsCommand } from './ls.ts';
import { checkCommand } from './check.ts';
import { migrateCommand } from './migrate.ts';

/** Every CLI command, in the order --help lists them. */
export const commands: readonly Command[] = [
  exportCommand,
  loadCommand,
  inspectCommand,
  lsCommand,
  checkCommand,
  migrateCommand,
];
