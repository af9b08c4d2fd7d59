import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ZstdCodec } from '../compression/codecs.ts';
import type { HeadStartPolicy } from '../handover/export/head-start.ts';
import type { ClassicLoad } from '../handover/load/load-strategy.ts';
import { parseDockerHost, type EngineEndpoint } from '../engine/docker-host.ts';
import { UsageError } from '../errors.ts';
import { producerAnnotations } from '../handover/ci-context.ts';
import type { RunnerContext } from '../store/select-store.ts';
import { VERSION } from '../version.ts';
import { Defaults } from '../defaults.ts';

/**
 * Everything handover takes from its environment, read and checked once by
 * each entry (the CLI and the actions). The library takes these as
 * parameters and never reads the environment itself.
 */
export interface Settings {
  /** DOCKER_HOST, or the standard socket. */
  engine: EngineEndpoint;
  /** The local store when none is chosen: HANDOVER_STORE, else the user's cache directory. */
  defaultStore: string;
  /** HANDOVER_HEAD_START_BYTES: the bottom layer's size from which an export gives it a head start, or 'off'. */
  headStartBytes: HeadStartPolicy;
  /** HANDOVER_LOAD_STEP_BYTES: layer bytes one overlapped load carries. */
  loadStepBytes: number;
  /** HANDOVER_CLASSIC_LOAD: how Docker 25+ on its own layer store takes a bundle. */
  classicLoad: ClassicLoad;
  /** HANDOVER_ZSTD=builtin keeps zstd in process. */
  zstd: ZstdCodec;
  runner: RunnerContext;
  /** The job summary file (GITHUB_STEP_SUMMARY), when the runner gives one. */
  stepSummary: string | undefined;
  /** Facts about the producing CI run, recorded in the bundle. */
  producer: Record<string, string>;
}

/** The variables readSettings reads, with what each is for: for --help and the README. */
export const SETTING_VARIABLES = {
  DOCKER_HOST: 'the engine (unix:///path or tcp://host:port)',
  HANDOVER_STORE: 'the local store directory when --store is not given',
  HANDOVER_HEAD_START_BYTES: `bottom layer size from which export gives it a head start, on any engine with its own layer store (default: ${Defaults.headStartBytes} on Docker before 25 only; off for never)`,
  HANDOVER_LOAD_STEP_BYTES: `layer bytes one overlapped load carries (default ${Defaults.loadStepBytes}; 1 for a load per layer)`,
  HANDOVER_CLASSIC_LOAD: "'layout' sends Docker 25+ on its own layer store one OCI layout with the layers as stored, for it to decompress (default 'steps')",
  HANDOVER_ZSTD: "'builtin' to compress and decompress zstd in process instead of with the zstd command",
} as const;

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}

/** A whole number of bytes above 0, or undefined when unset or empty. */
function bytesVariable(env: NodeJS.ProcessEnv, name: keyof typeof SETTING_VARIABLES, hint: string, orElse = ''): number | undefined {
  const raw = env[name];
  if (!nonEmpty(raw)) return undefined;
  if (!/^[1-9][0-9]{0,15}$/.test(raw.trim())) {
    throw new UsageError(`Expected ${name} as a whole number of bytes above 0${orElse}, found '${raw}'.`, { hint });
  }
  return Number(raw.trim());
}

function headStartBytes(env: NodeJS.ProcessEnv): HeadStartPolicy {
  if (env['HANDOVER_HEAD_START_BYTES']?.trim() === 'off') return 'off';
  const hint = `Unset it for the default (from ${Defaults.headStartBytes} bytes, 64 MiB, on Docker before 25), set 1 to give any bottom layer a head start, or off for none.`;
  return bytesVariable(env, 'HANDOVER_HEAD_START_BYTES', hint, ', or off') ?? 'auto';
}

function loadStepBytes(env: NodeJS.ProcessEnv): number {
  const hint = `Unset it for the default (${Defaults.loadStepBytes}, 32 MiB), or set 1 to give every layer a load of its own.`;
  return bytesVariable(env, 'HANDOVER_LOAD_STEP_BYTES', hint) ?? Defaults.loadStepBytes;
}

function classicLoad(env: NodeJS.ProcessEnv): ClassicLoad {
  const raw = (env['HANDOVER_CLASSIC_LOAD'] ?? '').trim();
  if (raw === '' || raw === 'steps') return 'steps';
  if (raw === 'layout') return 'layout';
  throw new UsageError(`Expected HANDOVER_CLASSIC_LOAD as steps or layout, found '${raw}'.`, {
    hint: 'Unset it for steps (handover decompresses, the engine applies one layer while the next arrives); layout lets Docker 25+ decompress one archive itself.',
  });
}

function zstd(env: NodeJS.ProcessEnv): ZstdCodec {
  const raw = (env['HANDOVER_ZSTD'] ?? '').trim();
  if (raw === '' || raw === 'command') return 'command';
  if (raw === 'builtin') return 'builtin';
  throw new UsageError(`Expected HANDOVER_ZSTD as builtin or command, found '${raw}'.`, {
    hint: 'Unset it to use the zstd command when it is installed (faster, on every core), or set builtin to keep zstd in process.',
  });
}

function defaultStore(env: NodeJS.ProcessEnv): string {
  if (nonEmpty(env['HANDOVER_STORE'])) return resolve(env['HANDOVER_STORE']);
  const cache = nonEmpty(env['XDG_CACHE_HOME']) ? env['XDG_CACHE_HOME'] : join(env['HOME'] ?? homedir(), '.cache');
  return join(cache, 'image-handover');
}

function runner(env: NodeJS.ProcessEnv): RunnerContext {
  const runId = env['GITHUB_RUN_ID'];
  const repository = env['GITHUB_REPOSITORY'];
  const token = env['ACTIONS_RUNTIME_TOKEN'];
  const resultsUrl = env['ACTIONS_RESULTS_URL'];
  const artifactService = nonEmpty(token) && nonEmpty(resultsUrl) ? { token, resultsUrl } : undefined;
  return {
    actions: artifactService !== undefined,
    artifactService,
    tempDir: nonEmpty(env['RUNNER_TEMP']) ? env['RUNNER_TEMP'] : tmpdir(),
    runLabel: nonEmpty(runId) ? `run ${runId}${nonEmpty(repository) ? ` of ${repository}` : ''}` : 'this workflow run',
  };
}

/** Reads and checks every setting; a bad value fails here, before any work. */
export function readSettings(env: NodeJS.ProcessEnv): Settings {
  return {
    engine: parseDockerHost(env['DOCKER_HOST']),
    defaultStore: defaultStore(env),
    headStartBytes: headStartBytes(env),
    loadStepBytes: loadStepBytes(env),
    classicLoad: classicLoad(env),
    zstd: zstd(env),
    runner: runner(env),
    stepSummary: nonEmpty(env['GITHUB_STEP_SUMMARY']) ? env['GITHUB_STEP_SUMMARY'] : undefined,
    producer: producerAnnotations(env, VERSION),
  };
}
