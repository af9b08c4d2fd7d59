/** Number formats shared by the table, the markdown and the chart. */

export function seconds(ms: number): string {
  return Number.isFinite(ms) ? (ms / 1000).toFixed(1) : '—';
}

/** Megabytes (10^6), as DESIGN.md's figures are. */
export function megabytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '—';
  if (bytes < 10e6) return (bytes / 1e6).toFixed(2);
  return (bytes / 1e6).toFixed(0);
}

export function mebibytesFromKiB(kib: number | undefined): string {
  return kib === undefined || !Number.isFinite(kib) ? '—' : (kib / 1024).toFixed(0);
}

export function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : '—';
}

export function percent(value: number): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(Math.abs(value) < 0.01 ? 2 : 1)} %` : '—';
}
