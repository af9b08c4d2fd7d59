import type { Finding } from '../findings.ts';
import { ruleHelpUri } from '../rules/rule.ts';

/** Findings as JSON: stable field names, one object per finding, with the rule's docs. */
export function formatJson(findings: readonly Finding[]): string {
  const body = findings.map(({ path, line, col, ruleId, level, message }) => ({
    path,
    line,
    col,
    rule: ruleId,
    level,
    message,
    docs: ruleHelpUri(ruleId),
  }));
  return `${JSON.stringify({ findings: body }, null, 2)}\n`;
}
