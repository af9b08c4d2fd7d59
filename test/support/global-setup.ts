import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';

const run = promisify(execFile);

/** Engines the integration tests share: one producer and four consumers, each its own dockerd. */
export const ENGINE_NAMES = ['producer', 'c1', 'c2', 'c3', 'c4'] as const;

declare module 'vitest' {
  export interface ProvidedContext {
    engines: Record<(typeof ENGINE_NAMES)[number], string>;
  }
}

let base: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  // Short paths: dockerd's sockets must fit in 108 bytes.
  base = await mkdtemp('/tmp/hot-');
  const { stdout } = await run('bash', ['scripts/engines.sh', 'start', base, ...ENGINE_NAMES], { timeout: 120_000 }).catch((error: Error & { stderr?: string }) => {
    throw new Error(`Could not start the test engines (is docker.io installed and are we root?):\n${error.stderr ?? error.message}`);
  });
  const engines = Object.fromEntries(stdout.trim().split('\n').map((line) => line.split('=', 2) as [string, string]));
  project.provide('engines', engines as Record<(typeof ENGINE_NAMES)[number], string>);
}

export async function teardown(): Promise<void> {
  if (base !== undefined) await run('bash', ['scripts/engines.sh', 'stop', base], { timeout: 120_000 });
}
