/** Number formats shared by the table, the markdown and the chart. */

export function seconds(ms: number): string {
  return Number.isFinite(ms) ? (ms / 1000).toFixed(1) : '—';
}

/** Mebibytes (2^20): the unit of the CLI, the job summaries and the memory figures. */
export function mebibytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '—';
  const mib = bytes / MiB;
  return mib < 10 ? mib.toFixed(2) : mib.toFixed(0);
}

const MiB = 1024 * 1024;

export function mebibytesFromKiB(kib: number | undefined): string {
  return kib === undefined || !Number.isFinite(kib) ? '—' : (kib / 1024).toFixed(0);
}

export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : '—';
}

export function percent(value: number): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(Math.abs(value) < 0.01 ? 2 : 1)} %` : '—';
}
