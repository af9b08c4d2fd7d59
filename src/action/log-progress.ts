import type { ProgressListener } from '../handover/progress.ts';
import { formatBytes } from '../units.ts';

/**
 * A progress listener for a CI log: a line when a phase starts and then at
 * most one every `intervalMs`, so a long transfer shows it is moving without
 * flooding the log.
 */
export function logProgress(info: (line: string) => void, intervalMs = 10_000, now: () => number = Date.now): ProgressListener {
  let phase: string | undefined;
  let last = 0;
  return (event) => {
    const time = now();
    if (event.phase === phase && time - last < intervalMs) return;
    phase = event.phase;
    last = time;
    const total = event.total === undefined || event.total === 0 ? '' : ` of ~${formatBytes(event.total)}`;
    info(`${event.phase}: ${formatBytes(event.bytes)}${total}`);
  };
}
