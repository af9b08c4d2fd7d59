import { sameRepository, type Receipt } from '../model/channels.ts';
import type { Site } from '../model/facts.ts';
import { availableImages, usesImage } from '../model/receipts.ts';
import { stepLabel } from '../model/workflow.ts';
import type { Rule, RuleReport } from './rule.ts';

/** An acquisition that puts the image in the engine without checking which image it is. */
function unverifiedAcquisition(receipt: Receipt): Site | undefined {
  switch (receipt.fetch.kind) {
    case 'download':
    case 'cache':
      return receipt.acquire;
    case 'load-action':
      return receipt.fetch.load.verifies ? undefined : receipt.fetch.load;
    case 'pull':
      // docker run, compose, container: and services: use the image as they take it: nothing to verify between.
      return receipt.fetch.pull.kind === 'pull' ? receipt.fetch.pull : undefined;
  }
}

export const unverifiedImage: Rule = {
  id: 'unverified-image',
  description: 'A consumer uses the image before verifying that the engine holds the one handed over (its tag or id).',
  level: 'error',
  check({ model }) {
    const reports: RuleReport[] = [];
    const { flow, facts, channels, workflow } = model;
    for (const job of workflow.jobs) {
      const receipts = channels.receipts.filter((r) => r.consumer === job);
      const acquisitions = receipts
        .map((r) => ({ receipt: r, site: unverifiedAcquisition(r) }))
        .filter((a): a is { receipt: Receipt; site: Site } => a.site?.step !== undefined)
        .sort((a, b) => a.site.offset - b.site.offset);
      const first = acquisitions[0];
      const firstStep = first?.site.step;
      if (first === undefined || firstStep === undefined) continue;
      const available = availableImages(flow, facts, job, acquisitions.map((a) => a.receipt));
      const user = job.steps.find((s) => s.index > firstStep.index && usesImage(flow, job, s));
      // Verified between taking the image and first using it: an inspect of that image (any inspect when its tags are not known).
      const inTime = (site: Site): boolean => site.offset >= first.site.offset && (user === undefined || (site.step?.index ?? 0) < user.index);
      const verified = facts.verifies.some((v) => v.job === job && inTime(v) && (available.length === 0 || available.some((image) => sameRepository(flow, image, v.tag))));
      const verifiedByAction = facts.loads.some((l) => l.job === job && l.verifies && inTime(l));
      if (verified || verifiedByAction) continue;
      reports.push(
        user === undefined
          ? {
              offset: first.site.offset,
              message: `Job '${job.id}' never verifies the image it takes: add 'docker image inspect <tag>' of the handed-over tag right after loading it, or use our load action, which verifies.`,
            }
          : {
              offset: user.offset,
              message: `Job '${job.id}' runs '${stepLabel(user)}' before verifying the image it took on line ${lineOf(model.workflow.file.text, first.site.offset)}: add 'docker image inspect <tag>' of the handed-over tag right after loading it (our load action verifies by itself), so a missing or wrong image fails fast.`,
            },
      );
    }
    return reports;
  },
};

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}
