import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.ts';

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

class Capture extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

/**
 * Test images have small layers, which the defaults would load in one go
 * and export without a head start: here every layer gets a load of its own
 * and every bottom layer a head start, so the tests exercise the overlapped
 * loads, the bottom images of export, and their clean-up.
 */
const STAGING = { HANDOVER_LOAD_STEP_BYTES: '1', HANDOVER_HEAD_START_BYTES: '1' };

/** Runs the CLI in this process, as a user would call it, with its own environment. */
export async function cli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = process.cwd()): Promise<CliResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  const status = await main(args, { stdout, stderr, env: { PATH: process.env['PATH'], ...STAGING, ...env }, cwd, signal: new AbortController().signal });
  return { status, stdout: stdout.text, stderr: stderr.text };
}

/** Parses a --json result, failing the test with the CLI's output when it is not JSON. */
export function json<T = Record<string, unknown>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`expected JSON on stdout, got:\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

/** Runs the built CLI (bin/handover.js) as a separate process. */
export async function cliProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return await new Promise((resolve) => {
    execFile(process.execPath, ['bin/handover.js', ...args], { env: { PATH: process.env['PATH'], ...STAGING, ...env }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const status = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ status, stdout, stderr });
    });
  });
}
