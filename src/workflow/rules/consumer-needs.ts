import { uploadsFetchedBy } from '../handover.ts';
import { transitiveNeeds } from '../model.ts';
import type { Rule, RuleReport } from './rule.ts';

export const consumerNeeds: Rule = {
  id: 'consumer-needs',
  description: 'A consumer does not need the job that exports the image, so it may start before the artifact exists.',
  level: 'error',
  check({ workflow, facts }) {
    const reports: RuleReport[] = [];
    for (const job of facts.consumers) {
      const before = transitiveNeeds(workflow, job);
      const fetches = [...facts.downloads.filter((d) => d.job === job), ...facts.loads.filter((l) => l.job === job && l.kind === 'action')];
      const missing = new Set<string>();
      for (const fetch of fetches) {
        for (const upload of uploadsFetchedBy(facts, fetch)) if (!before.has(upload.job.id)) missing.add(upload.job.id);
      }
      if (missing.size === 0) continue;
      const ids = [...missing].map((id) => `'${id}'`).join(', ');
      reports.push({
        offset: job.needsNode?.range?.[0] ?? job.key.range?.[0] ?? 0,
        message: `Job '${job.id}' takes the image exported by ${ids} but does not need ${missing.size === 1 ? 'it' : 'them'}: it can start before the artifact exists. Add ${ids} to needs.`,
      });
    }
    return reports;
  },
};
