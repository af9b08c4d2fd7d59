import type { Rule, RuleReport } from './rule.ts';

/**
 * Loading verifies that a bundle is whole, not that it is the one this run's
 * producer built: only the pinned bundle digest proves that.
 */
export const unpinnedLoad: Rule = {
  id: 'unpinned-load',
  description: "Our load action runs without 'expect', so it would accept any bundle published under the name.",
  level: 'warning',
  check({ model }) {
    const reports: RuleReport[] = [];
    for (const load of model.facts.loads) {
      if (load.kind !== 'action') continue;
      if (load.expect !== undefined && load.expect.value.trim() !== '') continue;
      reports.push({
        offset: load.step.uses?.offsetOf(0) ?? load.offset,
        message: `Job '${load.job.id}' loads the image without 'expect': pass the producer's bundle digest (expect: \${{ needs.<producer>.outputs.bundle-digest }}), so a replaced or re-exported bundle is refused.`,
      });
    }
    return reports;
  },
};
