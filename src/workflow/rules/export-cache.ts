import type { ImageBuild } from '../model/facts.ts';
import type { Rule, RuleReport } from './rule.ts';

function where(build: ImageBuild): number {
  return build.step.withNode?.range?.[0] ?? build.offset;
}

export const exportCache: Rule = {
  id: 'export-cache',
  description: "A separate export build does not reuse the main build's cache (cache-to on the main build, cache-from on the export).",
  level: 'warning',
  check({ model }) {
    const reports: RuleReport[] = [];
    const { facts } = model;
    const jobs = new Set(facts.builds.map((b) => b.job));
    for (const job of jobs) {
      const builds = facts.builds.filter((b) => b.job === job && b.how === 'build-push-action');
      const exportedFromEngine = facts.exports.some((e) => e.job === job && e.kind !== 'build');
      const exports = builds.filter((b) => b.dest !== undefined || (b.load && exportedFromEngine));
      const mains = builds.filter((b) => !exports.includes(b));
      if (exports.length === 0 || mains.length === 0) continue;
      for (const main of mains.filter((m) => m.cacheTo === undefined)) {
        reports.push({
          offset: where(main),
          message: `Job '${job.id}' builds the image twice, but the main build writes no cache: add 'cache-to: type=gha,mode=max' so the export build reuses its layers.`,
        });
      }
      for (const exported of exports.filter((e) => e.cacheFrom === undefined)) {
        reports.push({
          offset: where(exported),
          message: `Job '${job.id}' builds the image again for the export without 'cache-from': add 'cache-from: type=gha' so it reuses the main build instead of rebuilding.`,
        });
      }
    }
    return reports;
  },
};
