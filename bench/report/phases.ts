/**
 * Reading per-phase timings out of a `handover --json` result without
 * depending on its exact shape: every numeric leaf whose path names a time
 * (…Ms, …Seconds, under timings/phases/durations) is a phase.
 */

const timeKey = /(ms|millis|seconds|secs|duration)$/i;
const timeParent = /^(timings?|phases?|durations?)$/i;

/** Numeric leaves that look like timings, keyed by their dotted path. */
export function phaseTimings(value: unknown, path: readonly string[] = []): Map<string, number> {
  const found = new Map<string, number>();
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      for (const [key, ms] of phaseTimings(item, [...path, String(index)])) found.set(key, ms);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      for (const [leaf, ms] of phaseTimings(child, [...path, key])) found.set(leaf, ms);
    }
  } else if (typeof value === 'number' && path.length > 0) {
    const last = path.at(-1) ?? '';
    const underTimings = path.slice(0, -1).some((part) => timeParent.test(part));
    if (timeKey.test(last) || underTimings) found.set(path.join('.'), value);
  }
  return found;
}

/** The first number found under any of the keys, searching depth-first. */
export function findNumber(value: unknown, keys: readonly string[]): number | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  for (const key of keys) {
    const direct = (value as Record<string, unknown>)[key];
    if (typeof direct === 'number') return direct;
  }
  for (const child of Object.values(value)) {
    const found = findNumber(child, keys);
    if (found !== undefined) return found;
  }
  return undefined;
}
