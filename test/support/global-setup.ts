import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { ENGINE_KINDS, isEngineKind, type EngineKind, type KindEngines } from './engine-kinds.ts';

const run = promisify(execFile);

/** Engines the integration tests share: one producer and four consumers, each its own dockerd 20.10. */
export const ENGINE_NAMES = ['producer', 'c1', 'c2', 'c3', 'c4'] as const;

declare module 'vitest' {
  export interface ProvidedContext {
    engines: Record<(typeof ENGINE_NAMES)[number], string>;
    /** Engines of every kind: a producer and consumers each, or why the kind is not running. */
    engineKinds: Record<EngineKind, KindEngines>;
  }
}

/** Engine names (and so directories) per kind; 20.10's are the shared engines above. */
const NAME_PREFIX: Record<Exclude<EngineKind, '20.10'>, string> = { '28-classic': 'cl', '28-containerd': 'cd', podman: 'pm' };

/**
 * The kinds to start: HANDOVER_ENGINE_KINDS (comma-separated), else all.
 * 20.10 always runs: the tests that predate the matrix use it.
 */
export function wantedKinds(env: NodeJS.ProcessEnv): EngineKind[] {
  const asked = env['HANDOVER_ENGINE_KINDS'];
  if (asked === undefined || asked.trim() === '') return [...ENGINE_KINDS];
  const kinds = asked.split(',').map((kind) => kind.trim()).filter((kind) => kind !== '');
  for (const kind of kinds) {
    if (!isEngineKind(kind)) throw new Error(`HANDOVER_ENGINE_KINDS names '${kind}'; kinds are ${ENGINE_KINDS.join(', ')}`);
  }
  return [...new Set<EngineKind>(['20.10', ...(kinds as EngineKind[])])];
}

/** Consumers per kind other than 20.10 (HANDOVER_ENGINE_CONSUMERS, 1 to 4; default 4). */
export function consumersPerKind(env: NodeJS.ProcessEnv): number {
  const asked = env['HANDOVER_ENGINE_CONSUMERS'];
  if (asked === undefined || asked === '') return 4;
  const count = Number(asked);
  if (!Number.isInteger(count) || count < 1 || count > 4) throw new Error(`HANDOVER_ENGINE_CONSUMERS must be 1 to 4, not '${asked}'`);
  return count;
}

interface KindStatus {
  available: boolean;
  detail: string;
}

/** What `engines.sh kinds` says: each kind available with its version, or why not. */
export function parseKinds(stdout: string): Map<EngineKind, KindStatus> {
  const kinds = new Map<EngineKind, KindStatus>();
  for (const line of stdout.split('\n')) {
    const [kind, state, detail = ''] = line.split('\t');
    if (kind === undefined || !isEngineKind(kind)) continue;
    kinds.set(kind, { available: state === 'available', detail });
  }
  return kinds;
}

function namesOf(kind: EngineKind, consumers: number): { producer: string; consumers: string[] } {
  if (kind === '20.10') return { producer: 'producer', consumers: ['c1', 'c2', 'c3', 'c4'] };
  const prefix = NAME_PREFIX[kind];
  return { producer: `${prefix}p`, consumers: Array.from({ length: consumers }, (_, i) => `${prefix}${i + 1}`) };
}

function keyValues(stdout: string): Map<string, string> {
  return new Map(stdout.trim().split('\n').filter((line) => line.includes('=')).map((line) => {
    const at = line.indexOf('=');
    return [line.slice(0, at), line.slice(at + 1)] as [string, string];
  }));
}

function engineError(what: string) {
  return (error: Error & { stderr?: string }): never => {
    throw new Error(`${what} (are the engines installed — scripts/setup.sh — and are we root?):\n${error.stderr ?? error.message}`);
  };
}

let base: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  try {
    await startEngines(project);
  } catch (error) {
    // Vitest runs no teardown after a failed setup: stop what did start.
    await teardown().catch(() => undefined);
    throw error;
  }
}

async function startEngines(project: TestProject): Promise<void> {
  const wanted = wantedKinds(process.env);
  const consumers = consumersPerKind(process.env);
  const { stdout: kindsOut } = await run('bash', ['scripts/engines.sh', 'kinds']).catch(engineError('Could not list the engine kinds'));
  const status = parseKinds(kindsOut);

  // Short paths: the engines' sockets must fit in 108 bytes.
  const root = await mkdtemp('/tmp/hot-');
  base = root;
  const engineKinds = {} as Record<EngineKind, KindEngines>;
  const specs: string[] = [];
  const starting: EngineKind[] = [];
  for (const kind of ENGINE_KINDS) {
    const state = status.get(kind);
    if (!wanted.includes(kind)) {
      engineKinds[kind] = { kind, available: false, reason: 'not in HANDOVER_ENGINE_KINDS' };
    } else if (state === undefined || !state.available) {
      const reason = state?.detail ?? 'engines.sh does not know this kind';
      // CI installs every kind (scripts/setup.sh): one missing there is a failure, not a skip.
      if (kind === '20.10' || process.env['CI'] === 'true') throw new Error(`Engine kind ${kind} is not available: ${reason}`);
      engineKinds[kind] = { kind, available: false, reason };
    } else {
      const names = namesOf(kind, consumers);
      specs.push(...[names.producer, ...names.consumers].map((name) => `${name}=${kind}`));
      starting.push(kind);
    }
  }

  // One engines.sh call starts them all at once, then waits for each.
  const [{ stdout }, ...clis] = await Promise.all([
    run('bash', ['scripts/engines.sh', 'start', root, ...specs], { timeout: 300_000 }).catch(engineError('Could not start the test engines')),
    ...starting.map(async (kind) => await run('bash', ['scripts/engines.sh', 'cli', root, kind]).catch(engineError(`No docker CLI for ${kind}`))),
  ]);
  const hosts = keyValues(stdout);
  const hostOf = (name: string): string => {
    const host = hosts.get(name);
    if (host === undefined) throw new Error(`engines.sh started no engine '${name}':\n${stdout}`);
    return host;
  };
  for (const [i, kind] of starting.entries()) {
    const cli = keyValues(clis[i]!.stdout);
    const names = namesOf(kind, consumers);
    engineKinds[kind] = {
      kind,
      available: true,
      version: status.get(kind)!.detail,
      producer: hostOf(names.producer),
      consumers: names.consumers.map(hostOf),
      cli: { docker: cli.get('DOCKER_CLI') ?? 'docker', config: cli.get('DOCKER_CONFIG') ?? '' },
    };
  }
  project.provide('engines', Object.fromEntries(ENGINE_NAMES.map((name) => [name, hostOf(name)])) as Record<(typeof ENGINE_NAMES)[number], string>);
  project.provide('engineKinds', engineKinds);
}

export async function teardown(): Promise<void> {
  if (base === undefined) return;
  const stopping = base;
  base = undefined;
  await run('bash', ['scripts/engines.sh', 'stop', stopping], { timeout: 300_000 });
}
