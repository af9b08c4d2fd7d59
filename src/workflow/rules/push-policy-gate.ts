import { conditionRefs, refsInExpressions } from '../expressions.ts';
import { jobById } from '../model.ts';
import { policySteps } from '../push-policy.ts';
import { positionAt } from '../source.ts';
import type { Rule, RuleReport } from './rule.ts';

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
