/** The report's tables as rows of cells, and two renderings: aligned text and markdown. */
import { mebibytesFromKiB, mebibytes, ratio, seconds } from './format.ts';
import type { BenchReport, IncrementalSummary, PatternSummary } from './model.ts';
import type { TargetResult } from './targets.ts';

export type Rows = string[][];

function unavailableCells(status: string, reason: string | undefined, width: number): string[] {
  const text = status === 'unavailable' ? `not available: ${reason ?? ''}` : `failed: ${reason ?? ''}`;
  return [text, ...Array<string>(width - 1).fill('')];
}

export function patternRows(patterns: readonly PatternSummary[]): Rows {
  const floor = patterns.find((pattern) => pattern.id === 'floor' && pattern.status === 'ok');
  const header = ['pattern', 'producer s', 'consumer s', 'total s', 'vs floor', 'stored MiB', 'peak RSS MiB'];
  const rows: Rows = [header];
  for (const pattern of patterns) {
    if (pattern.status !== 'ok') {
      rows.push([pattern.label, ...unavailableCells(pattern.status, pattern.reason, header.length - 1)]);
      continue;
    }
    rows.push([
      pattern.label,
      seconds(pattern.producerMs),
      seconds(pattern.consumerMs),
      seconds(pattern.totalMs),
      floor === undefined ? '—' : ratio(pattern.totalMs / floor.totalMs),
      mebibytes(pattern.storedBytes),
      pattern.peakRssKiB === undefined ? '—' : `${mebibytesFromKiB(pattern.peakRssKiB)} (${pattern.rssOf ?? '?'})`,
    ]);
  }
  return rows;
}

function cpuCells(wallMs: number, cpu: PatternSummary['producerCpu']): string[] {
  if (cpu === undefined) return ['—', '—', '—'];
  const busy = (cpu.engineS + cpu.commandsS) / (wallMs / 1000);
  return [cpu.engineS.toFixed(1), cpu.commandsS.toFixed(1), Number.isFinite(busy) ? busy.toFixed(2) : '—'];
}

/** Where each side's CPU went: the engine's, the side's own commands', and how many cores that kept busy on average. */
export function cpuRows(patterns: readonly PatternSummary[]): Rows {
  const header = ['pattern', 'producer s', 'engine CPU s', 'commands CPU s', 'cores busy', 'consumer s', 'engine CPU s', 'commands CPU s', 'cores busy'];
  const rows: Rows = [header];
  for (const pattern of patterns) {
    if (pattern.status !== 'ok' || (pattern.producerCpu === undefined && pattern.consumerCpu === undefined)) continue;
    rows.push([
      pattern.label,
      seconds(pattern.producerMs),
      ...cpuCells(pattern.producerMs, pattern.producerCpu),
      seconds(pattern.consumerMs),
      ...cpuCells(pattern.consumerMs, pattern.consumerCpu),
    ]);
  }
  return rows;
}

export function incrementalRows(entries: readonly IncrementalSummary[]): Rows {
  const header = ['pattern', 'store +MiB for 2nd image', 'export 2nd s', 'consumer reads MiB', 'into engine MiB', 'load 2nd (base present) s'];
  const rows: Rows = [header];
  for (const entry of entries) {
    if (entry.status !== 'ok') {
      rows.push([entry.label, ...unavailableCells(entry.status, entry.reason, header.length - 1)]);
      continue;
    }
    rows.push([
      entry.label,
      mebibytes(entry.storeBytesAdded),
      seconds(entry.produceMs),
      mebibytes(entry.bytesMoved),
      mebibytes(entry.bytesToEngine),
      seconds(entry.consumeMs),
    ]);
  }
  return rows;
}

export function targetRows(targets: readonly TargetResult[]): Rows {
  return [['target', 'measured', 'verdict'], ...targets.map((target) => [target.target, target.measured, target.verdict])];
}

export function phaseRows(phases: BenchReport['phases']): Rows {
  const rows: Rows = [['side', 'phase (from --json)', 'median s']];
  for (const [side, list] of [['export', phases.export], ['load', phases.load]] as const) {
    for (const [key, ms] of list) rows.push([side, key, /seconds|secs/i.test(key) ? ms.toFixed(1) : seconds(ms)]);
  }
  return rows;
}

function isNumeric(cell: string): boolean {
  return /^[\d.]+(×| %)?$|^—$/.test(cell);
}

/** A row whose second cell is a note spanning the rest (a pattern that did not run). */
function isSpanRow(row: readonly string[]): boolean {
  return row.length > 2 && row.slice(2).every((cell) => cell === '');
}

/** Aligned columns for a terminal: numbers right-aligned, text left-aligned; span rows overflow. */
export function renderText(rows: Rows): string {
  const widths: number[] = [];
  rows.forEach((row, index) => {
    const span = index > 0 && isSpanRow(row);
    row.forEach((cell, i) => {
      if (!span || i === 0) widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  });
  const lines = rows.map((row, index) => {
    if (index > 0 && isSpanRow(row)) return `${(row[0] ?? '').padEnd(widths[0] ?? 0)}  ${row[1] ?? ''}`.trimEnd();
    return row
      .map((cell, i) => {
        const width = widths[i] ?? 0;
        return index > 0 && i > 0 && isNumeric(cell) ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  });
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [lines[0], rule, ...lines.slice(1)].join('\n') + '\n';
}

function escapeCell(cell: string): string {
  return cell.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** A GitHub-flavoured markdown table; numeric columns right-aligned. */
export function renderMarkdownTable(rows: Rows): string {
  const [header, ...body] = rows;
  if (header === undefined) return '';
  const measured = body.filter((row) => !isSpanRow(row));
  const numericColumn = header.map((_, i) => i > 0 && measured.length > 0 && measured.every((row) => isNumeric(row[i] ?? '') || (row[i] ?? '') === ''));
  const align = numericColumn.map((numeric) => (numeric ? '---:' : '---'));
  const line = (cells: readonly string[]) => `| ${cells.map(escapeCell).join(' | ')} |`;
  return [line(header), `|${align.join('|')}|`, ...body.map(line)].join('\n') + '\n';
}
