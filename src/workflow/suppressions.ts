import type { Finding } from './findings.ts';
import { ruleById } from './rules/index.ts';
import { suppression as suppressionRule } from './rules/suppression.ts';
import type { SourceFile } from './source.ts';

/** `# handover: ignore[rule-a, rule-b] why this is fine`, on the finding's line or alone on the line above. */
export interface Suppression {
  ruleIds: string[];
  reason: string;
  /** The line it silences. */
  line: number;
}

const COMMENT = /#\s*handover:\s*ignore\[([^\]]*)\](.*)$/;

export function readSuppressions(file: SourceFile): { suppressions: Suppression[]; findings: Finding[] } {
  const suppressions: Suppression[] = [];
  const findings: Finding[] = [];
  file.text.split('\n').forEach((text, index) => {
    const match = COMMENT.exec(text);
    if (match === null) return;
    const line = index + 1;
    const col = (match.index ?? 0) + 1;
    const offset = (file.lineCounter.lineStarts[index] ?? 0) + col - 1;
    const ruleIds = (match[1] ?? '').split(',').map((id) => id.trim()).filter((id) => id !== '');
    const reason = (match[2] ?? '').trim();
    const ownLine = text.slice(0, match.index).trim() === '';
    const report = (message: string): void => {
      findings.push({ ruleId: suppressionRule.id, level: suppressionRule.level, message, path: file.path, line, col, offset });
    };
    const unknown = ruleIds.filter((id) => ruleById(id) === undefined);
    if (ruleIds.length === 0) report('This suppression names no rule: write `# handover: ignore[<rule>] <reason>`.');
    for (const id of unknown) report(`This suppression names '${id}', which is not a handover rule; run 'handover check --help' for the list.`);
    if (reason === '' && ruleIds.length > 0) {
      report(`This suppression of [${ruleIds.join(', ')}] gives no reason: add one after the brackets, so the next reader knows why the finding does not apply.`);
    }
    const known = ruleIds.filter((id) => ruleById(id) !== undefined);
    if (known.length > 0) suppressions.push({ ruleIds: known, reason, line: ownLine ? line + 1 : line });
  });
  return { suppressions, findings };
}

export function isSuppressed(finding: Finding, suppressions: readonly Suppression[]): boolean {
  return suppressions.some((s) => s.line === finding.line && s.ruleIds.includes(finding.ruleId));
}
