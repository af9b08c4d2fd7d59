/**
 * The producer and consumer engines: separate dockerd processes with their
 * own data roots under the bench work directory, started with
 * scripts/engines.sh. They are stopped by pid without removing the data
 * roots, so built images survive to the next run (--fresh removes them).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { enginePidFile, socketOf, type BenchEngineKind } from './engine-kind.ts';
import { run, type RunResult } from './measure.ts';

export interface Engines {
  /** The kind both engines are (`--engine`). */
  kind: BenchEngineKind;
  /** DOCKER_HOST values. */
  producer: string;
  consumer: string;
  /** True when this run started them (and so stops them). */
  startedHere: boolean;
  /** The dockerd processes, from their pid files, for their CPU time; undefined when unreadable. */
  producerPid?: number;
  consumerPid?: number;
}

const names = ['producer', 'consumer'] as const;

async function answers(host: string): Promise<boolean> {
  const result = await run('docker', ['-H', host, 'version', '--format', '{{.Server.Version}}'], { allowFailure: true });
  return result.exitCode === 0;
}

export async function startEngines(repoRoot: string, base: string, kind: BenchEngineKind): Promise<Engines> {
  const producer = socketOf(base, 'producer', kind);
  const consumer = socketOf(base, 'consumer', kind);
  let startedHere = false;
  if (!(await answers(producer)) || !(await answers(consumer))) {
    await run('bash', [join(repoRoot, 'scripts/engines.sh'), 'start', base, ...names.map((name) => `${name}=${kind}`)]);
    startedHere = true;
  }
  const [producerPid, consumerPid] = await Promise.all(names.map((name) => pidOf(enginePidFile(base, name, kind))));
  return {
    kind,
    producer,
    consumer,
    startedHere,
    ...(producerPid === undefined ? {} : { producerPid }),
    ...(consumerPid === undefined ? {} : { consumerPid }),
  };
}

async function pidOf(file: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(file, 'utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Stops the engines this run started, keeping their data roots. */
export async function stopEngines(base: string): Promise<void> {
  const pids: number[] = [];
  for (const name of names) {
    try {
      pids.push(Number.parseInt(await readFile(join(base, name, 'launcher.pid'), 'utf8'), 10));
    } catch {
      // not started by engines.sh: nothing of ours to stop
    }
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  for (const pid of pids) {
    for (let i = 0; i < 150 && alive(pid); i++) await sleep(100);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function docker(host: string, args: readonly string[], allowFailure = false): Promise<RunResult> {
  return await run('docker', ['-H', host, ...args], { allowFailure, env: { DOCKER_BUILDKIT: '0' } });
}

/** Removes every image (and so every layer) the engine holds, so the next load is real. */
export async function emptyEngine(host: string): Promise<void> {
  const ids = (await docker(host, ['images', '-aq'])).stdout.split('\n').filter((id) => id !== '');
  if (ids.length > 0) await docker(host, ['rmi', '-f', ...new Set(ids)], true);
  await docker(host, ['image', 'prune', '-af'], true);
  const left = (await docker(host, ['images', '-aq'])).stdout.trim();
  if (left !== '') throw new Error(`the engine at ${host} still holds images after emptying: ${left}`);
}

export async function imageSize(host: string, ref: string): Promise<number> {
  return Number.parseInt((await docker(host, ['image', 'inspect', '-f', '{{.Size}}', ref])).stdout.trim(), 10);
}

export async function imageLayerCount(host: string, ref: string): Promise<number> {
  return Number.parseInt((await docker(host, ['image', 'inspect', '-f', '{{len .RootFS.Layers}}', ref])).stdout.trim(), 10);
}
