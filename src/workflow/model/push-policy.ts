/** The push policy: the step outputs that decide whether a job pushes, and the job outputs that follow them. */
import { conditionRefs, refsInExpressions } from '../expr/references.ts';
import type { Facts } from './facts.ts';
import type { Job } from './workflow.ts';

/** Step ids whose outputs decide whether the job pushes: read by `push:`, by the `if:` of a login or push step. */
export function policySteps(facts: Facts, job: Job): Set<string> {
  const fields = [
    ...facts.pushes.filter((p) => p.job === job).flatMap((p) => [p.decidedBy?.value, p.step.if?.value]),
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
      const reads = refsInExpressions(`${step.run?.value ?? ''}\n${[...step.with.values(), ...step.env.values()].map((f) => f.value).join('\n')}`);
      if (reads.some((r) => r.context === 'steps' && ids.has(r.id))) {
        ids.add(id);
        grown = true;
      }
    }
  }
  return ids;
}

/** The job output (by name) follows the push policy: its value reads a policy step's outputs. */
export function followsPolicy(facts: Facts, job: Job, output: string): string | undefined {
  const value = job.outputs.get(output)?.value;
  if (value === undefined) return undefined;
  const policy = policySteps(facts, job);
  return refsInExpressions(value).find((r) => r.context === 'steps' && policy.has(r.id))?.text;
}
