/**
 * Running commands and measuring them: wall clock of a whole side (spawn to
 * exit, every process of the side included) and the peak RSS of one process
 * through GNU time. Timing never asserts: figures go to the report.
 */
import { spawn } from 'node:child_process';
import { readFile, readdir, lstat } from 'node:fs/promises';
import { join } from 'node:path';

export interface RunResult {
  wallMs: number;
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Resolve with the exit code instead of throwing when it is not 0. */
  allowFailure?: boolean;
}

export class CommandFailedError extends Error {
  readonly result: RunResult;
  constructor(what: string, result: RunResult) {
    super(`${what} exited with status ${result.exitCode}: ${result.stderr.trim().split('\n').slice(-5).join(' | ')}`);
    this.name = 'CommandFailedError';
    this.result = result;
  }
}

/** Runs a program and times it from spawn to exit. */
export async function run(program: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const start = process.hrtime.bigint();
  const child = spawn(program, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  const result: RunResult = {
    wallMs,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    exitCode,
  };
  if (exitCode !== 0 && options.allowFailure !== true) {
    throw new CommandFailedError(`${program} ${args.join(' ').slice(0, 200)}`, result);
  }
  return result;
}

/** Runs a bash script with pipefail, so a failing stage of a pipeline fails the side. */
export async function sh(script: string, options: RunOptions = {}): Promise<RunResult> {
  return await run('bash', ['-euo', 'pipefail', '-c', script], options);
}

/** Single-quotes a word for bash. */
export function q(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** A prefix that makes GNU time write the wrapped process's peak RSS (KiB) to a file. */
export function rssPrefix(file: string): string {
  return `/usr/bin/time -f %M -o ${q(file)}`;
}

/** Reads what rssPrefix wrote; undefined when the file is missing or odd. */
export async function readRssKiB(file: string): Promise<number | undefined> {
  try {
    const text = await readFile(file, 'utf8');
    // GNU time prefixes "Command exited with non-zero status N" when the command failed.
    const last = text.trim().split('\n').at(-1) ?? '';
    const kib = Number.parseInt(last, 10);
    return Number.isFinite(kib) ? kib : undefined;
  } catch {
    return undefined;
  }
}

/** Clock ticks per second of /proc's CPU times (USER_HZ). */
let ticksPerSecond: number | undefined;

async function clockTicks(): Promise<number> {
  if (ticksPerSecond === undefined) {
    const result = await run('getconf', ['CLK_TCK'], { allowFailure: true });
    const ticks = Number.parseInt(result.stdout.trim(), 10);
    ticksPerSecond = result.exitCode === 0 && ticks > 0 ? ticks : 100;
  }
  return ticksPerSecond;
}

/**
 * CPU seconds from /proc/PID/stat: the process's own time (user + system)
 * and that of its children it has waited for. `children` counts only the
 * latter: for this process, the commands it ran to their end.
 */
export async function cpuSeconds(pid: number | 'self', part: 'all' | 'children' = 'all'): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces: state is field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number.parseInt(fields[i] ?? '', 10));
    const ticks = part === 'all' ? (utime ?? 0) + (stime ?? 0) + (cutime ?? 0) + (cstime ?? 0) : (cutime ?? 0) + (cstime ?? 0);
    return Number.isFinite(ticks) ? ticks / (await clockTicks()) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Bytes a file or directory tree occupies: the apparent size of every
 * regular file, each inode counted once (a store may hard-link one blob
 * into several bundles).
 */
export async function sizeOf(path: string, seen = new Set<string>()): Promise<number> {
  const stat = await lstat(path, { bigint: true });
  if (stat.isDirectory()) {
    let total = 0;
    for (const entry of await readdir(path)) total += await sizeOf(join(path, entry), seen);
    return total;
  }
  if (!stat.isFile()) return 0;
  const inode = `${stat.dev}:${stat.ino}`;
  if (seen.has(inode)) return 0;
  seen.add(inode);
  return Number(stat.size);
}
