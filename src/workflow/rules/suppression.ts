import type { Rule } from './rule.ts';

/** Reported by the suppression reader, not by a check: listed so it has an id, docs and SARIF metadata. */
export const suppression: Rule = {
  id: 'suppression',
  description: 'A `# handover: ignore[rule]` comment without a reason, or naming a rule that does not exist.',
  level: 'warning',
  check: () => [],
};
