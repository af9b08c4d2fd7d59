/**
 * `--engine KIND`: which kind of engine the producer and the consumer are
 * (scripts/engines.sh's kinds), what "the same image" means on it, and the
 * targets that apply. Each kind keeps its engines' data roots in a directory
 * of its own, so built images survive to the next run of that kind.
 */
import { join } from 'node:path';
import type { TargetOptions } from './report/targets.ts';

export const BENCH_ENGINE_KINDS = ['20.10', '28-classic', '28-containerd', 'podman'] as const;
export type BenchEngineKind = (typeof BENCH_ENGINE_KINDS)[number];

export function parseEngineKind(value: string): BenchEngineKind {
  const kind = BENCH_ENGINE_KINDS.find((k) => k === value);
  if (kind === undefined) throw new Error(`--engine: unknown kind '${value}' (kinds: ${BENCH_ENGINE_KINDS.join(', ')})`);
  return kind;
}

/** Where the kind's two engines live under the work directory (20.10's where they always have); short, as Podman refuses a run root over 50 characters. */
export function enginesBase(workDir: string, kind: BenchEngineKind): string {
  return kind === '20.10' ? join(workDir, 'engines') : join(workDir, `e-${kind}`);
}

/** Where the kind's report goes by default: 20.10's where it always has, the others' in a folder per kind. */
export function resultsDir(resultsRoot: string, kind: BenchEngineKind): string {
  return kind === '20.10' ? resultsRoot : join(resultsRoot, kind);
}

/** The socket scripts/engines.sh gives an engine of this kind. */
export function socketOf(base: string, name: string, kind: BenchEngineKind): string {
  return `unix://${join(base, name, kind === 'podman' ? 'podman.sock' : 'd.sock')}`;
}

/** The file whose pid is the engine's own process: dockerd's pid file, or the Podman service (exec'd by its launcher). */
export function enginePidFile(base: string, name: string, kind: BenchEngineKind): string {
  return join(base, name, kind === 'podman' ? 'launcher.pid' : 'd.pid');
}

/**
 * Issue 12's targets per kind: on the modern engines (Docker 28 either store,
 * Podman) the handover is to be at or below the engine's own floor; on
 * 20.10 issue 5's 1.1× stands (it cannot take zstd layers itself).
 */
export function targetOptions(kind: BenchEngineKind): TargetOptions {
  return {
    totalVsFloor: kind === '20.10' ? 1.1 : 1.0,
    // Bytes are compared with the zstd pipeline where layers arrive uncompressed; containerd's store sends them as it keeps them.
    ...(kind === '28-containerd' ? { storedVsZstdNotApplicable: 'layers arrive compressed (gzip, as the containerd store holds them) and pass through' } : {}),
  };
}

/** What the consumer must hold after a side, as `docker image inspect` shows it: `{{.Id}} {{json .RootFS.Layers}}`. */
export interface HeldImage {
  id: string;
  diffIds: string;
}

/**
 * Whether the consumer holds the producer's image. Classic stores and Podman
 * name it by its config digest, so the ids are equal. Containerd's store
 * names it by the manifest the archive carried, which only an archive of the
 * producer's own manifest keeps (a same-kind `docker save`); otherwise the
 * diff ids must be the producer's.
 */
export function holdsSameImage(kind: BenchEngineKind, producer: HeldImage, consumer: HeldImage): boolean {
  if (kind === '28-containerd') return consumer.id === producer.id || consumer.diffIds === producer.diffIds;
  return consumer.id === producer.id;
}
