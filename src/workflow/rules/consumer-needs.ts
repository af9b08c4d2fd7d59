import { missingNeeds } from '../model/channels.ts';
import type { Rule, RuleReport } from './rule.ts';

export const consumerNeeds: Rule = {
  id: 'consumer-needs',
  description: 'A consumer does not need the job that hands it the image, so it may start before the image exists.',
  level: 'error',
  check({ model }) {
    const reports: RuleReport[] = [];
    for (const job of model.workflow.jobs) {
      const missing = missingNeeds(model.flow, model.channels, job);
      if (missing.length === 0) continue;
      const ids = missing.map((p) => `'${p.id}'`).join(', ');
      reports.push({
        offset: job.needsNode?.range?.[0] ?? job.key.range?.[0] ?? 0,
        message: `Job '${job.id}' takes the image handed over by ${ids} but does not need ${missing.length === 1 ? 'it' : 'them'}: it can start before the image exists (or take a previous attempt's). Add ${ids} to needs.`,
      });
    }
    return reports;
  },
};
