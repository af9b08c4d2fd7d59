import { UsageError } from '../errors.ts';
import type { ParsedArgs } from './command.ts';

/** Reading a command's parsed arguments. */

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

/** Whether the user asked for machine-readable output: --json, or --format json. */
export function wantsJson(values: ParsedArgs['values']): boolean {
  return values['json'] === true || values['format'] === 'json';
}
