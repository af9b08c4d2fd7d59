import { engineCommands, producersOf, runImages, type Located } from '../handover.ts';
import { isLiteral, normalizeImage, repositoryName } from '../image-names.ts';
import { positionalArgs } from '../shell.ts';
import type { Rule, RuleReport } from './rule.ts';

export const tagMismatch: Rule = {
  id: 'tag-mismatch',
  description: 'The tag the export writes differs from the tag the consumers run or inspect.',
  level: 'error',
  check({ facts }) {
    const reports: RuleReport[] = [];
    for (const job of facts.consumers) {
      const producers = producersOf(facts, job);
      const exported = facts.exports.filter((e) => producers.includes(e.job)).flatMap((e) => e.tags).filter((t) => isLiteral(t.value));
      if (exported.length === 0) continue;
      const tags = new Set(exported.map((t) => normalizeImage(t.value)));
      const repositories = new Set(exported.map((t) => repositoryName(t.value)));
      const listed = [...new Set(exported.map((t) => t.value))].join(', ');
      const report = (used: Located, how: string): void => {
        if (!isLiteral(used.value) || tags.has(normalizeImage(used.value))) return;
        reports.push({
          offset: used.offset,
          message: `Job '${job.id}' ${how} '${used.value}', but ${producers.map((p) => `'${p.id}'`).join(', ')} exports ${listed}. Use the exported tag, or export the tag the tests use.`,
        });
      };
      for (const verify of facts.verifies.filter((v) => v.job === job)) report(verify.tag, 'verifies');
      const sameRepository = (used: Located): boolean => repositories.has(repositoryName(used.value));
      for (const step of job.steps) {
        for (const image of runImages(step).filter(sameRepository)) report(image, 'runs');
        const run = step.run;
        if (run === undefined) continue;
        for (const command of engineCommands(step).filter((c) => c.verb === 'tag')) {
          const source = positionalArgs(command.args)[0];
          if (source === undefined) continue;
          const used = { value: source.text, offset: run.offsetOf(source.index, source.text) };
          if (sameRepository(used)) report(used, 'tags');
        }
      }
    }
    return reports;
  },
};
