import { engineCommands } from '../handover.ts';
import { stepLabel, type Step } from '../model.ts';
import { parseScript } from '../shell.ts';
import type { Rule, RuleReport } from './rule.ts';

/** Steps that only fetch or name the image are part of getting it, not tests that use it. */
const ACQUIRING = new Set(['pull', 'tag', 'load', 'login', 'images', 'ls', 'inspect']);

function onlyAcquires(step: Step): boolean {
  const commands = parseScript(step.run?.value ?? '');
  const engine = engineCommands(step);
  const others = commands.filter((c) => !['echo', 'set', 'printf', 'gunzip', 'zstd', 'cat', 'ls'].includes(c.words[0]?.text ?? ''));
  return engine.length === others.length && engine.every((c) => ACQUIRING.has(c.verb));
}

export const unverifiedImage: Rule = {
  id: 'unverified-image',
  description: 'A consumer runs its scripts before verifying that the engine holds the expected image.',
  level: 'error',
  check({ facts }) {
    const reports: RuleReport[] = [];
    for (const job of facts.consumers) {
      const acquisitions = [...facts.loads, ...facts.pulls].filter((a) => a.job === job).sort((a, b) => a.offset - b.offset);
      const first = acquisitions[0];
      if (first === undefined) continue;
      const verified = [...facts.verifies, ...facts.loads.filter((l) => l.verifies)]
        .filter((v) => v.job === job && v.offset >= first.offset)
        .sort((a, b) => a.offset - b.offset)[0];
      const verifiedAt = verified?.step.index ?? Number.POSITIVE_INFINITY;
      const early = job.steps.filter(
        (s) => s.run !== undefined && s.index > first.step.index && s.index < verifiedAt && !onlyAcquires(s),
      );
      for (const step of early) {
        reports.push({
          offset: step.offset,
          message: `Job '${job.id}' runs '${stepLabel(step)}' before verifying the image: add 'docker image inspect <tag>' right after loading it (our load action verifies by itself), so a missing or wrong image fails fast.`,
        });
      }
      if (early.length === 0 && verified === undefined) {
        reports.push({
          offset: first.offset,
          message: `Job '${job.id}' never verifies the image it takes: add 'docker image inspect <tag>' right after loading it, or use our load action, which verifies.`,
        });
      }
    }
    return reports;
  },
};
