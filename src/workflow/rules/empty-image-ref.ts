import { isUnknown } from '../expr/evaluate.ts';
import { literal, or, type Expr, type Literal } from '../expr/syntax.ts';
import { siteCondition } from '../model/channels.ts';
import { Evaluation } from '../model/dataflow.ts';
import { solve, type Answer } from '../model/solver.ts';
import { render } from '../model/symbols.ts';
import type { Rule, RuleReport } from './rule.ts';

/** A value that cannot be empty whatever the run: no need to ask the solver. */
function constant(expr: Expr): boolean {
  return expr.kind === 'literal';
}

const show = (value: Literal): string => (typeof value === 'string' ? `'${value}'` : String(value));

/** "when github.event_name is 'pull_request' and …": the run the solver found, in words. */
export function describeWitness(answer: Answer): string {
  const parts: string[] = [];
  for (const [key, value] of answer.witness ?? []) {
    if (key.endsWith('.result') && value === 'success') continue;
    if (key.startsWith('opaque:') || key.startsWith('step:')) continue;
    const name = key.replace(/^shell:/, '$').replace(/^matrix:[^.]+\./, 'matrix.');
    if (typeof value === 'string' && value.startsWith('\u0000')) {
      const others = [...(answer.hints?.get(key) ?? [])].filter((v) => v !== '' && v !== null);
      if (others.length > 0) parts.push(`${name} is not ${others.map(show).join(' or ')}`);
      continue;
    }
    parts.push(`${name} is ${show(value)}`);
  }
  return parts.length === 0 ? '' : ` (for example when ${parts.join(' and ')})`;
}

export const emptyImageRef: Rule = {
  id: 'empty-image-ref',
  description: "An image reference that can be empty when its step runs: Docker fails with 'invalid reference format'.",
  level: 'error',
  check({ model }) {
    const reports: RuleReport[] = [];
    const { flow, facts } = model;
    const seen = new Set<string>();
    for (const use of facts.uses) {
      if (constant(use.ref.expr)) continue;
      const symbol = `${use.job.id}\u0000${render(flow, use.ref.expr, use.ref.scope)}`;
      if (seen.has(symbol)) continue;
      // A value that is never empty needs no search.
      const value = new Evaluation(flow, new Map()).value(use.ref.expr, use.ref.scope);
      if (!isUnknown(value) && typeof value === 'string' && value !== '' && !/[:@]$/.test(value)) continue;
      // Empty, or a repository with an empty tag or digest (`repo:`, `repo@`): both are 'invalid reference format'.
      const ref = use.ref.expr;
      const endsWith = (suffix: string): Expr => ({ kind: 'call', name: 'endswith', args: [ref, literal(suffix)] });
      const empty: Expr = or(or({ kind: 'compare', op: '==', left: ref, right: literal('') }, endsWith(':')), endsWith('@'));
      const answer = solve(flow, [...siteCondition(flow, use, use.path), { expr: empty, scope: use.ref.scope }]);
      if (answer.satisfiable !== true) continue;
      seen.add(symbol);
      reports.push({
        offset: use.ref.offset,
        message: `'${use.ref.value.trim()}' can be empty (or lack its tag) when this step runs${describeWitness(answer)}, and is the image reference of ${use.what}: Docker fails with 'invalid reference format'. Hand the image over as an artifact, or run this only under the condition that sets it.`,
      });
    }
    return reports;
  },
};
