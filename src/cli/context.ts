import { parseDockerHost } from '../engine/docker-host.ts';
import { DockerEngine } from '../engine/docker-engine.ts';
import type { Engine } from '../engine/engine.ts';
import { UsageError } from '../errors.ts';
import { selectStore } from '../store/select-store.ts';
import type { Store } from '../store/store.ts';
import type { CommandIO, OptionSpec, ParsedArgs } from './command.ts';

export const storeOption: OptionSpec = {
  type: 'string',
  valueName: 'DIR',
  description: "The store: a directory, or 'github' for this run's GitHub Actions artifacts (default: artifacts inside a runner, else $HANDOVER_STORE, else ~/.cache/image-handover).",
};
export const nameOption: OptionSpec = {
  type: 'string',
  short: 'n',
  valueName: 'NAME',
  default: 'docker-image',
  description: "The bundle's name in the store (default: docker-image).",
};
export const jsonOption: OptionSpec = { type: 'boolean', description: 'Print a machine-readable JSON result on stdout.' };
export const quietOption: OptionSpec = { type: 'boolean', short: 'q', description: 'Print no progress.' };

/**
 * A whole number of bytes above 0 from an environment variable; undefined
 * when unset or empty. `expected` completes "Expected NAME as …" for other
 * values a caller takes itself (", or off").
 */
export function bytesFromEnv(env: NodeJS.ProcessEnv, name: string, hint: string, expected = ''): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  if (!/^[1-9][0-9]{0,15}$/.test(raw.trim())) {
    throw new UsageError(`Expected ${name} as a whole number of bytes above 0${expected}, found '${raw}'.`, { hint });
  }
  return Number(raw.trim());
}

export function stringValue(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

export function stringValues(args: ParsedArgs, name: string): string[] {
  const value = args.values[name];
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}

export function rejectPositionals(args: ParsedArgs, command: string, hint: string): void {
  if (args.positionals.length === 0) return;
  throw new UsageError(`'handover ${command}' takes no arguments, found '${args.positionals.join(' ')}'.`, { hint });
}

export function openStore(args: ParsedArgs, io: CommandIO): Store {
  return selectStore({ store: stringValue(args, 'store'), env: io.env, cwd: io.cwd });
}

export function openEngine(io: CommandIO): Engine {
  return new DockerEngine(parseDockerHost(io.env['DOCKER_HOST']));
}

export function writeJson(io: CommandIO, value: unknown): void {
  io.stdout.write(`${JSON.stringify({ ok: true, ...(value as object) }, null, 2)}\n`);
}
