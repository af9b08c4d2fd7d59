import { formatDuration } from '../../units.ts';

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
