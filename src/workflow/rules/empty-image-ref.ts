import { isBuildPushAction } from '../actions.ts';
import { isGuarded, mayBeEmpty } from '../emptiness.ts';
import type { Rule, RuleReport } from './rule.ts';

export const emptyImageRef: Rule = {
  id: 'empty-image-ref',
  description: "An image reference built from an output that can be empty: Docker fails with 'invalid reference format'.",
  level: 'error',
  check({ workflow, facts }) {
    const reports: RuleReport[] = [];
    const seen = new Set<string>();
    for (const use of facts.uses) {
      // build-push-action only uses its tags as references when it pushes.
      const push = use.step.uses !== undefined && isBuildPushAction(use.step.uses.value) ? use.step.with.get('push')?.value : undefined;
      const conditions = [use.job.if?.value, use.step.if?.value, push].filter((c): c is string => c !== undefined);
      for (const ref of use.refs) {
        const empty = mayBeEmpty(workflow, use.job, ref);
        if (empty === undefined || isGuarded(conditions, ref, empty)) continue;
        const key = `${use.ref.offset}:${ref.text}`;
        if (seen.has(key)) continue;
        seen.add(key);
        reports.push({
          offset: use.ref.offset,
          message: `'${ref.text}' can be empty (${empty.reason}) and is used as the image reference of ${use.what}: Docker fails with 'invalid reference format'. Hand the image over as an artifact, or run this only under the condition that sets it.`,
        });
      }
    }
    return reports;
  },
};
