/**
 * The units every output uses — the CLI, the job summaries, the bench:
 * binary multiples (1 MiB = 1024 KiB), as the memory figures and defaults are.
 */

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** 1536 -> "1.5 KiB"; exact byte counts stay in --json output and step outputs. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(bytes)} B` : `${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

/** 61 -> "61 ms", 1234 -> "1.23 s". */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** Bytes over milliseconds as a rate: "85.3 MiB/s". */
export function formatRate(bytes: number, ms: number): string {
  return ms <= 0 ? '-' : `${formatBytes((bytes * 1000) / ms)}/s`;
}
