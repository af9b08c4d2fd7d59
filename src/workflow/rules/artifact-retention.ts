import { EXPORT_ACTION_DEFAULT_RETENTION_DAYS } from '../actions.ts';
import type { Rule, RuleReport } from './rule.ts';

/** Long enough to re-run failed jobs of the run over a weekend; the handover itself needs the artifact for one run. */
export const MAX_RETENTION_DAYS = 7;

export const artifactRetention: Rule = {
  id: 'artifact-retention',
  description: `An image artifact without retention-days, or kept longer than ${MAX_RETENTION_DAYS} days.`,
  level: 'warning',
  check({ model }) {
    const reports: RuleReport[] = [];
    const seen = new Set<unknown>();
    for (const channel of model.channels.channels) {
      const upload = channel.upload;
      if (upload === undefined || seen.has(upload)) continue;
      seen.add(upload);
      const retention = upload.retention;
      if (retention === undefined) {
        if (upload.kind === 'bundle') continue;
        reports.push({
          offset: upload.step.uses?.offsetOf(0) ?? upload.offset,
          message: `Job '${upload.job.id}' uploads an image artifact without ${upload.kind === 'image-artifact' ? "'retention_days'" : "'retention-days'"}: it is kept for the repository default (90 days) and counts against storage. Keep it 1 day.`,
        });
        continue;
      }
      const days = Number(retention.value);
      if (!Number.isFinite(days) || days <= MAX_RETENTION_DAYS) continue;
      reports.push({
        offset: retention.offsetOf(0),
        message: `Job '${upload.job.id}' keeps the image artifact ${days} days; the handover needs it for this run only (${EXPORT_ACTION_DEFAULT_RETENTION_DAYS} day, at most ${MAX_RETENTION_DAYS} to allow re-runs).`,
      });
    }
    return reports;
  },
};
