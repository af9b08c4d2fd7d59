import { isUnknown } from '../expr/evaluate.ts';
import { literal, or, type Expr, type Literal } from '../expr/syntax.ts';
import { siteCondition } from '../model/channels.ts';
import { Evaluation } from '../model/dataflow.ts';
import { solve } from '../model/solver.ts';
import { render } from '../model/symbols.ts';
import type { Rule, RuleReport } from './rule.ts';

/** A value that cannot be empty whatever the run: no need to ask the solver. */
function constant(expr: Expr): boolean {
  return expr.kind === 'literal';
}

/** "when github.event_name is 'pull_request' and …": the run the solver found, in words. */
export function describeWitness(witness: ReadonlyMap<string, Literal> | undefined): string {
  if (witness === undefined) return '';
  const parts: string[] = [];
  for (const [key, value] of witness) {
    if (typeof value === 'string' && value.startsWith('\u0000')) continue;
    if (key.endsWith('.result') && value === 'success') continue;
    if (key.startsWith('opaque:')) continue;
    parts.push(`${key.replace(/^shell:/, '$').replace(/^matrix:[^.]+\./, 'matrix.')} is ${typeof value === 'string' ? `'${value}'` : String(value)}`);
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
        message: `'${use.ref.value.trim()}' can be empty when this step runs${describeWitness(answer.witness)}, and is the image reference of ${use.what}: Docker fails with 'invalid reference format'. Hand the image over as an artifact, or run this only under the condition that sets it.`,
      });
    }
    return reports;
  },
};
