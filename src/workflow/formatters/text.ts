import type { Finding } from '../findings.ts';
import { lineText, type SourceFile } from '../source.ts';

export interface TextOptions {
  /** Show the source line and a caret under each finding (on a terminal). */
  excerpt: boolean;
}

function excerpt(file: SourceFile | undefined, finding: Finding): string[] {
  if (file === undefined) return [];
  const source = lineText(file, finding.line);
  const gutter = String(finding.line).length;
  const caret = `${' '.repeat(gutter)} | ${source.slice(0, finding.col - 1).replace(/[^\t]/g, ' ')}^`;
  return [`${finding.line} | ${source}`, caret, ''];
}

/** `path:line:col: message [rule]`, one finding per line, like compilers and actionlint. */
export function formatText(findings: readonly Finding[], files: readonly SourceFile[], options: TextOptions): string {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const lines: string[] = [];
  for (const finding of findings) {
    lines.push(`${finding.path}:${finding.line}:${finding.col}: ${finding.message} [${finding.ruleId}]`);
    if (options.excerpt) lines.push(...excerpt(byPath.get(finding.path), finding));
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

export function formatSummary(findings: readonly Finding[], fileCount: number): string {
  const files = `${fileCount} workflow file${fileCount === 1 ? '' : 's'}`;
  if (findings.length === 0) return `No handover problems in ${files}.\n`;
  return `${findings.length} finding${findings.length === 1 ? '' : 's'} in ${files}.\n`;
}
