import { repositoryOf } from '../model/channels.ts';
import type { Located } from '../model/facts.ts';
import { availableImages } from '../model/receipts.ts';
import { isKnownText, render } from '../model/symbols.ts';
import { normalizeImage } from '../image-names.ts';
import type { Rule, RuleReport } from './rule.ts';

export const tagMismatch: Rule = {
  id: 'tag-mismatch',
  description: 'A consumer verifies, runs or re-tags a tag of the handed-over image that the producer does not export.',
  level: 'error',
  check({ model }) {
    const reports: RuleReport[] = [];
    const { flow, facts, channels, workflow } = model;
    for (const job of workflow.jobs) {
      const receipts = channels.receipts.filter((r) => r.consumer === job && r.channel.kind !== 'registry');
      if (receipts.length === 0) continue;
      const exported = receipts.flatMap((r) => r.channel.images).map((image) => render(flow, image.expr, image.scope)).filter(isKnownText);
      if (exported.length === 0) continue;
      const available = new Set(availableImages(flow, facts, job, receipts).map((image) => normalizeImage(render(flow, image.expr, image.scope))));
      const repositories = new Set(exported.map(repositoryOf));
      const listed = [...new Set(exported)].join(', ');
      const producers = [...new Set(receipts.map((r) => `'${r.channel.producer.id}'`))].join(', ');
      const reported = new Set<string>();
      const check = (used: Located, how: string): void => {
        const text = render(flow, used.expr, used.scope);
        const normalized = normalizeImage(text);
        if (!isKnownText(text) || available.has(normalized) || !repositories.has(repositoryOf(text)) || reported.has(normalized)) return;
        reported.add(normalized);
        reports.push({
          offset: used.offset,
          message: `Job '${job.id}' ${how} '${used.value}', but ${producers} export${receipts.length === 1 ? 's' : ''} ${listed}. Use the exported tag, or export the tag the tests use.`,
        });
      };
      const uses = [
        ...facts.verifies.filter((v) => v.job === job).map((v) => ({ at: v.offset, located: v.tag, how: 'verifies' })),
        ...facts.pulls.filter((p) => p.job === job && p.kind === 'run').map((p) => ({ at: p.offset, located: p.ref, how: 'runs' })),
        ...facts.retags.filter((r) => r.job === job).map((r) => ({ at: r.offset, located: r.source, how: 'tags' })),
      ].sort((a, b) => a.at - b.at);
      for (const use of uses) check(use.located, use.how);
    }
    return reports;
  },
};
