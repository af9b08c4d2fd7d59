import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { describe, inject, it } from 'vitest';
import { ENGINE_KINDS, type EngineKind, type RunningKind } from './engine-kinds.ts';

const exec = promisify(execFile);

export interface EngineKindOptions {
  /** Only these kinds (default: every kind). */
  kinds?: readonly EngineKind[];
  /** Kinds where the block means nothing, each with the reason, which the test report shows. */
  skip?: Partial<Record<EngineKind, string>>;
}

interface KindRow {
  kind: EngineKind;
  version: string;
  engines: RunningKind;
}

/**
 * Runs `body` once per engine kind, inside a `describe` named after the kind
 * and its version. A kind that is skipped (by `options.skip`, or because it
 * is not running here) gets a skipped test that carries the reason.
 */
export function forEachEngineKind(body: (kind: EngineKind, engines: RunningKind) => void, options: EngineKindOptions = {}): void {
  const all = inject('engineKinds');
  const rows: KindRow[] = [];
  for (const kind of options.kinds ?? ENGINE_KINDS) {
    const entry = all[kind];
    const reason = options.skip?.[kind] ?? (entry.available ? undefined : entry.reason);
    if (reason !== undefined || !entry.available) {
      describe(`on ${kind}`, () => {
        it.skip(`skipped: ${reason ?? 'not running'}`, () => undefined);
      });
      continue;
    }
    rows.push({ kind, version: entry.version, engines: entry });
  }
  if (rows.length > 0) describe.each(rows)('on $kind ($version)', ({ kind, engines }) => body(kind, engines));
}

/**
 * The docker CLI of the engine's kind against one of its engines (buildx as
 * its plugin on the modern kinds; Podman's API has no BuildKit, so builds
 * there go through the API's /build). Returns stdout and stderr (buildx
 * writes its progress there).
 */
export async function kindDocker(engines: RunningKind, dockerHost: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: engines.cli.config, DOCKER_HOST: dockerHost };
  if (engines.kind === 'podman') env['DOCKER_BUILDKIT'] = '0';
  try {
    return await exec(engines.cli.docker, args, { env, maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    const failure = error as Error & { stderr?: string; stdout?: string };
    throw new Error(`docker ${args.join(' ')} on ${engines.kind} (${dockerHost}) failed:\n${failure.stderr ?? ''}${failure.stdout ?? ''}`, { cause: error });
  }
}

/** GET on the engine's API, parsed as JSON: for what the CLI does not show (a containerd-store image's manifests). */
export async function engineGet<T>(dockerHost: string, path: string): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    const req = request({ socketPath: dockerHost.replace(/^unix:\/\//, ''), path, headers: { Host: 'docker' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => { body += chunk; });
      res.on('end', () => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET ${path} on ${dockerHost} answered ${res.statusCode}: ${body}`));
          return;
        }
        try {
          resolve(JSON.parse(body) as T);
        } catch (error) {
          reject(new Error(`GET ${path} on ${dockerHost} answered no JSON: ${body.slice(0, 200)}`, { cause: error }));
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The kind's consumer at `index`, or its last when fewer run (HANDOVER_ENGINE_CONSUMERS). */
export function consumerAt(engines: RunningKind, index: number): string {
  return engines.consumers[index] ?? engines.consumers.at(-1)!;
}

/** Every running kind, in ENGINE_KINDS order: for tests that pair kinds (a producer of one, a consumer of another). */
export function runningKinds(): RunningKind[] {
  const all = inject('engineKinds');
  return ENGINE_KINDS.map((kind) => all[kind]).filter((entry): entry is RunningKind => entry.available);
}

/** A kind's engines under the names the tests written for 20.10 alone use: producer and c1 to c4 (the last consumer again where fewer run). */
export interface NamedEngines {
  producer: string;
  c1: string;
  c2: string;
  c3: string;
  c4: string;
}

export function namedEngines(engines: RunningKind): NamedEngines {
  return { producer: engines.producer, c1: consumerAt(engines, 0), c2: consumerAt(engines, 1), c3: consumerAt(engines, 2), c4: consumerAt(engines, 3) };
}

/**
 * Options for a block that one kind shows as well as four: it runs on
 * `kind` (20.10 unless said), and every other kind is skipped with `reason`.
 */
export function onOneKind(reason: string, kind: EngineKind = '20.10'): EngineKindOptions {
  return { skip: Object.fromEntries(ENGINE_KINDS.filter((k) => k !== kind).map((k) => [k, reason])) };
}
