import { isLiteral, repositoryName } from '../image-names.ts';
import type { Rule, RuleReport } from './rule.ts';

export const registryPull: Rule = {
  id: 'registry-pull',
  description: 'A job that consumes the handed-over image logs into a registry or pulls the image.',
  level: 'error',
  check({ facts }) {
    const reports: RuleReport[] = [];
    const exportedNames = new Set(
      facts.exports.flatMap((e) => e.tags.map((t) => t.value)).filter(isLiteral).map(repositoryName),
    );
    for (const job of facts.consumers) {
      for (const login of facts.logins.filter((l) => l.job === job)) {
        reports.push({
          offset: login.offset,
          message: `Job '${job.id}' consumes an image built in this workflow but logs into a registry (${login.how}). Load the image handed over as an artifact instead; consumers need no registry credentials, which fork pull requests do not have.`,
        });
      }
      for (const pull of facts.pulls.filter((p) => p.job === job)) {
        const producer = pull.refs.find((r) => r.context === 'needs' && facts.imageJobs.has(r.id))?.id;
        const sameImage = isLiteral(pull.ref.value) && exportedNames.has(repositoryName(pull.ref.value));
        if (producer === undefined && !sameImage) continue;
        reports.push({
          offset: pull.offset,
          message: `Job '${job.id}' pulls the image${producer === undefined ? '' : ` built by '${producer}'`} from a registry. Load the artifact the build job exports (our load action, or actions/download-artifact + docker load) so the tests do not depend on a push.`,
        });
      }
    }
    return reports;
  },
};
