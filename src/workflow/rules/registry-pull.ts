import type { PullKind } from '../model/facts.ts';
import type { Rule, RuleReport } from './rule.ts';

const HOW: Record<PullKind, string> = {
  pull: 'pulls',
  run: 'runs (and so pulls)',
  compose: 'starts with docker compose (and so pulls)',
  container: 'runs its steps in (the runner pulls)',
  service: 'starts as a service (the runner pulls)',
};

export const registryPull: Rule = {
  id: 'registry-pull',
  description: 'A job takes the image built in this workflow from a registry: it logs in, pulls, or runs the pushed reference.',
  level: 'error',
  check({ model }) {
    const reports: RuleReport[] = [];
    const { channels, facts } = model;
    const consumers = new Map<string, Set<string>>();
    for (const receipt of channels.receipts) {
      if (receipt.channel.kind !== 'registry' || receipt.fetch.kind !== 'pull') continue;
      const pull = receipt.fetch.pull;
      const producers = consumers.get(pull.job.id) ?? new Set<string>();
      consumers.set(pull.job.id, producers);
      const key = `${receipt.channel.producer.id}`;
      if (producers.has(key)) continue;
      producers.add(key);
      const producer = receipt.channel.producer.id;
      reports.push({
        offset: pull.offset,
        message: receipt.publishOnly
          ? `Job '${pull.job.id}' ${HOW[pull.kind]} the image that job '${producer}' pushes to a registry, and runs only when it was pushed. If it works on the published image (a deploy, a check of the release), say so: '# handover: ignore[registry-pull] <why>'. If it tests the build, load the image handed over as an artifact instead.`
          : `Job '${pull.job.id}' ${HOW[pull.kind]} the image that job '${producer}' pushes to a registry: it depends on that push (which fork pull requests cannot make) and on registry credentials. Hand the image over as an artifact and load it (our load action, or actions/download-artifact + docker load); handover migrate does this.`,
      });
    }
    for (const login of facts.logins) {
      if (!consumers.has(login.job.id)) continue;
      reports.push({
        offset: login.offset,
        message: `Job '${login.job.id}' logs into a registry (${login.how}) to take the image built in this workflow. Load the image handed over as an artifact instead; consumers then need no registry credentials, which fork pull requests do not have.`,
      });
    }
    return reports;
  },
};
