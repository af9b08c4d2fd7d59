import { conditionRefs } from '../expr/references.ts';
import { followsPolicy } from '../model/push-policy.ts';
import { jobById } from '../model/workflow.ts';
import { positionAt } from '../source.ts';
import type { Rule, RuleReport } from './rule.ts';

export const pushPolicyGate: Rule = {
  id: 'push-policy-gate',
  description: 'The gate that decides whether integration runs follows the registry push policy instead of the handover.',
  level: 'error',
  check({ model }) {
    const reports: RuleReport[] = [];
    const { workflow, facts, channels } = model;
    const reported = new Set<string>();
    const consumers = new Set(channels.receipts.map((r) => r.consumer));
    const producers = new Set(channels.channels.map((c) => c.producer.id));
    for (const consumer of consumers) {
      if (consumer.if === undefined) continue;
      for (const gate of conditionRefs(consumer.if.value)) {
        if (gate.context !== 'needs' || gate.output === undefined || !producers.has(gate.id)) continue;
        const producer = jobById(workflow, gate.id);
        const output = producer?.outputs.get(gate.output);
        if (producer === undefined || output === undefined) continue;
        const follows = followsPolicy(facts, producer, gate.output);
        const key = `${producer.id}.${gate.output}`;
        if (follows === undefined || reported.has(key)) continue;
        reported.add(key);
        const push = facts.pushes.find((p) => p.job === producer && p.decidedBy !== undefined);
        const where = push?.decidedBy === undefined ? '' : ` (it decides 'push:' on line ${positionAt(workflow.file, push.decidedBy.offsetOf(0)).line})`;
        reports.push({
          offset: output.offsetOf(0),
          message: `Output '${gate.output}' of job '${producer.id}' gates '${consumer.id}' but follows the registry push policy '${follows}'${where}: when nothing is pushed (fork pull requests) integration is skipped. Gate the consumers on the handover's success instead (a new output; keep this one for the jobs that need the push).`,
        });
      }
    }
    return reports;
  },
};
