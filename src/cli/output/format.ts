/** Human-readable byte counts: 842.1 MB. Decimal units, as docker shows them. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function formatRate(bytes: number, ms: number): string {
  return ms <= 0 ? '-' : `${formatBytes((bytes * 1000) / ms)}/s`;
}

/** Aligns rows of cells into columns. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n');
}

export function phaseLines(phases: Record<string, number>): string {
  return Object.entries(phases)
    .map(([name, ms]) => `${name} ${formatDuration(ms)}`)
    .join(', ');
}
