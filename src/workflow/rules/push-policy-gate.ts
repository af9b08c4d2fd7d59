import { conditionRefs, refsInExpressions } from '../expressions.ts';
import type { HandoverFacts } from '../handover.ts';
import { jobById, type Job } from '../model.ts';
import { positionAt } from '../source.ts';
import type { Rule, RuleReport } from './rule.ts';

/** Step ids whose outputs decide whether the job pushes: read by `push:` or by the `if:` of a login or push. */
function policySteps(facts: HandoverFacts, job: Job): Set<string> {
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

export const pushPolicyGate: Rule = {
  id: 'push-policy-gate',
  description: 'The gate that decides whether integration runs follows the registry push policy instead of the export.',
  level: 'error',
  check({ workflow, facts }) {
    const reports: RuleReport[] = [];
    const reported = new Set<string>();
    for (const consumer of facts.consumers) {
      if (consumer.if === undefined) continue;
      for (const gate of conditionRefs(consumer.if.value)) {
        if (gate.context !== 'needs' || gate.output === undefined || !facts.imageJobs.has(gate.id)) continue;
        const producer = jobById(workflow, gate.id);
        const output = producer?.outputs.get(gate.output);
        if (producer === undefined || output === undefined) continue;
        const policy = policySteps(facts, producer);
        const follows = refsInExpressions(output.value).find((r) => r.context === 'steps' && policy.has(r.id));
        const key = `${producer.id}.${gate.output}`;
        if (follows === undefined || reported.has(key)) continue;
        reported.add(key);
        const build = facts.builds.find((b) => b.job === producer && b.push !== undefined);
        const where = build?.push === undefined ? '' : ` (it decides 'push:' on line ${positionAt(workflow.file, build.push.offsetOf(0)).line})`;
        reports.push({
          offset: output.offsetOf(0),
          message: `Output '${gate.output}' of job '${producer.id}' gates '${consumer.id}' but follows the registry push policy '${follows.text}'${where}: when nothing is pushed (fork pull requests) integration is skipped. Set it from the export's success instead.`,
        });
      }
    }
    return reports;
  },
};
