import type { Level } from '../findings.ts';
import type { WorkflowModel } from '../model/index.ts';

/** Where the rules are documented; each rule has the anchor `#rule-<id>`. */
export const RULES_DOC_URL = 'https://github.com/image-handover/image-handover/blob/main/docs/check-and-migrate.md';

export function ruleHelpUri(id: string): string {
  return `${RULES_DOC_URL}#rule-${id}`;
}

export interface RuleContext {
  model: WorkflowModel;
}

/** What a rule reports: where (an offset in the file) and what, in words a user can act on. */
export interface RuleReport {
  offset: number;
  message: string;
}

export interface Rule {
  id: string;
  /** One line, shown in SARIF and the docs. */
  description: string;
  level: Level;
  check(context: RuleContext): RuleReport[];
}
