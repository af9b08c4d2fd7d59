/**
 * The chart: grouped bars per pattern, producer and consumer side by side,
 * median wall clock in seconds, and each pattern's total under its name.
 * Plain SVG 1.1 written by hand: no fonts or scripts to fetch.
 */
import { seconds } from './format.ts';
import type { PatternSummary } from './model.ts';

export interface ChartOptions {
  title: string;
  width?: number;
  height?: number;
}

const colors = { producer: '#4c78a8', consumer: '#f58518' } as const;

export function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&apos;');
}

/** A round axis maximum at or above the value: 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^n. */
export function niceCeiling(value: number): number {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8]) if (step * magnitude >= value) return step * magnitude;
  return 10 * magnitude;
}

function num(value: number): string {
  return String(Math.round(value * 10) / 10);
}

export function renderSvg(patterns: readonly PatternSummary[], options: ChartOptions): string {
  const width = options.width ?? 820;
  const height = options.height ?? 420;
  const margin = { top: 56, right: 20, bottom: 92, left: 56 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const shown = patterns.filter((pattern) => pattern.status === 'ok');
  const absent = patterns.filter((pattern) => pattern.status !== 'ok');
  const maxMs = Math.max(0, ...shown.flatMap((pattern) => [pattern.producerMs, pattern.consumerMs]));
  const top = niceCeiling(maxMs / 1000);
  const y = (s: number) => margin.top + plotHeight - (s / top) * plotHeight;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(options.title)}</text>`);
  // Legend.
  const legend: [string, string][] = [['producer', colors.producer], ['consumer', colors.consumer]];
  legend.forEach(([name, color], i) => {
    const x = margin.left + i * 110;
    out.push(`<rect x="${x}" y="34" width="12" height="12" fill="${color}"/>`);
    out.push(`<text x="${x + 16}" y="44">${name}</text>`);
  });
  // Axis and grid.
  const ticks = 5;
  for (let i = 0; i <= ticks; i++) {
    const value = (top / ticks) * i;
    const ty = y(value);
    out.push(`<line x1="${margin.left}" y1="${num(ty)}" x2="${width - margin.right}" y2="${num(ty)}" stroke="#dddddd"/>`);
    out.push(`<text x="${margin.left - 6}" y="${num(ty + 4)}" text-anchor="end">${num(value)}</text>`);
  }
  out.push(`<text transform="translate(16 ${margin.top + plotHeight / 2}) rotate(-90)" text-anchor="middle">seconds (median)</text>`);
  out.push(`<line x1="${margin.left}" y1="${margin.top + plotHeight}" x2="${width - margin.right}" y2="${margin.top + plotHeight}" stroke="#333333"/>`);
  // Bars.
  const group = shown.length === 0 ? plotWidth : plotWidth / shown.length;
  const bar = Math.min(48, group * 0.32);
  shown.forEach((pattern, i) => {
    const center = margin.left + group * i + group / 2;
    const sides: [number, string][] = [[pattern.producerMs, colors.producer], [pattern.consumerMs, colors.consumer]];
    sides.forEach(([ms, color], j) => {
      const x = center - bar + j * bar;
      const by = y(ms / 1000);
      const h = margin.top + plotHeight - by;
      out.push(`<rect x="${num(x)}" y="${num(by)}" width="${num(bar - 2)}" height="${num(h)}" fill="${color}"><title>${escapeXml(`${pattern.label}: ${j === 0 ? 'producer' : 'consumer'} ${seconds(ms)} s`)}</title></rect>`);
      out.push(`<text x="${num(x + (bar - 2) / 2)}" y="${num(by - 4)}" text-anchor="middle" font-size="11">${seconds(ms)}</text>`);
    });
    out.push(`<text x="${num(center)}" y="${margin.top + plotHeight + 18}" text-anchor="middle" font-weight="bold">${escapeXml(pattern.id)}</text>`);
    out.push(`<text x="${num(center)}" y="${margin.top + plotHeight + 34}" text-anchor="middle" font-size="11">total ${seconds(pattern.totalMs)} s</text>`);
  });
  if (absent.length > 0) {
    const text = `not measured: ${absent.map((pattern) => `${pattern.id} (${pattern.reason ?? pattern.status})`).join('; ')}`;
    out.push(`<text x="${margin.left}" y="${height - 40}" font-size="11" fill="#a00000">${escapeXml(text)}</text>`);
  }
  out.push(`<text x="${margin.left}" y="${height - 20}" font-size="11" fill="#555555">Wall clock of each whole side; lower is better. Bars: median of the rounds.</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
