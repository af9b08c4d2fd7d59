import { UsageError } from '../errors.ts';

/**
 * Checks a value against the ones allowed; an empty value gives the default.
 * `what` names the input in the message ("--compression", "compression input").
 */
export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], what: string, options: { fallback: T; hint: string }): T {
  const text = (value ?? '').trim();
  if (text === '') return options.fallback;
  if ((allowed as readonly string[]).includes(text)) return text as T;
  throw new UsageError(`Expected ${what} as one of ${allowed.join(', ')}, found '${text}'.`, { hint: options.hint });
}
