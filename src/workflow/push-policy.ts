import { conditionRefs, refsInExpressions } from './expressions.ts';
import type { HandoverFacts } from './handover.ts';
import type { Job } from './model.ts';

/** Step ids whose outputs decide whether the job pushes: read by `push:` or by the `if:` of a login or push. */
export function policySteps(facts: HandoverFacts, job: Job): Set<string> {
  const fields = [
    ...facts.builds.filter((b) => b.job === job).map((b) => b.push?.value),
    ...facts.logins.filter((l) => l.job === job).map((l) => l.step.if?.value),
  ];
  const ids = new Set<string>();
  for (const value of fields) {
    if (value === undefined) continue;
    for (const ref of conditionRefs(value)) if (ref.context === 'steps') ids.add(ref.id);
  }
  // A step that computes its outputs from a policy step's outputs follows the policy too.
  for (let grown = true; grown; ) {
    grown = false;
    for (const step of job.steps) {
      const id = step.id?.value;
      if (id === undefined || ids.has(id)) continue;
      const reads = refsInExpressions(`${step.run?.value ?? ''}\n${[...step.with.values()].map((f) => f.value).join('\n')}`);
      if (reads.some((r) => r.context === 'steps' && ids.has(r.id))) {
        ids.add(id);
        grown = true;
      }
    }
  }
  return ids;
}
