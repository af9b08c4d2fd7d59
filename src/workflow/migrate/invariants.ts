/**
 * What migrate promises about its own output, checked on the output before it
 * is written: existing job outputs keep their expressions; no job uploads a
 * name twice; converted consumers use the local tag wherever they used the
 * registry reference; new steps carry the condition of the path they replace;
 * the result checks no worse than the input (and converted consumers clean);
 * running migrate again changes nothing.
 */
import { checkModel } from '../check.ts';
import type { Finding } from '../findings.ts';
import { artifactName } from '../model/facts.ts';
import type { WorkflowModel } from '../model/index.ts';
import { outputsRead, render } from '../model/symbols.ts';
import type { Job } from '../model/workflow.ts';
import { planMigration, type Leave, type MigrateOptions, type MigratePlan } from './plan.ts';

export interface Violation {
  /** The consumer to leave, when the violation is in one consumer; else the producer. */
  consumer: string | undefined;
  producer: string;
  message: string;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function jobAt(model: WorkflowModel, offset: number): Job | undefined {
  return model.workflow.jobs.find((job) => {
    const start = job.key.range?.[0] ?? 0;
    const end = job.node.range?.[1] ?? 0;
    return offset >= start && offset <= end;
  });
}

function countByJob(model: WorkflowModel, findings: readonly Finding[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const finding of findings) {
    const key = `${finding.ruleId}\u0000${jobAt(model, finding.offset)?.id ?? ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

function producerOf(plan: MigratePlan, consumer: string): string {
  for (const [producer, consumers] of plan.converted) if (consumers.includes(consumer)) return producer;
  return '';
}

export function checkInvariants(before: WorkflowModel, after: WorkflowModel, plan: MigratePlan, options: MigrateOptions, leave: Leave): Violation[] {
  const violations: Violation[] = [];
  const converted = new Set([...plan.converted.values()].flat());
  const producers = [...plan.converted.keys()];
  const jobAfter = (id: string): Job | undefined => after.workflow.jobs.find((j) => j.id === id);

  for (const job of before.workflow.jobs) {
    for (const [name, field] of job.outputs) {
      if (jobAfter(job.id)?.outputs.get(name)?.value === field.value) continue;
      violations.push({ consumer: undefined, producer: job.id, message: `it would change output '${name}' of job '${job.id}', which other jobs may use.` });
    }
  }
  for (const job of after.workflow.jobs) {
    const names = after.facts.uploads.filter((u) => u.job === job).map((u) => artifactName(u)).filter((n): n is string => n !== undefined && !n.includes('${{'));
    const twice = names.find((name, index) => names.indexOf(name) !== index);
    if (twice !== undefined) violations.push({ consumer: undefined, producer: producers.includes(job.id) ? job.id : (producers[0] ?? job.id), message: `job '${job.id}' would upload '${twice}' twice.` });
  }
  // A run holds one artifact per name: a name migrate adds must not be another job's.
  const uploaders = new Map<string, Set<string>>();
  for (const upload of after.facts.uploads) {
    const name = artifactName(upload);
    if (name === undefined || name.includes('${{')) continue;
    uploaders.set(name, (uploaders.get(name) ?? new Set()).add(upload.job.id));
  }
  const namesBefore = new Map<string, Set<string>>();
  for (const upload of before.facts.uploads) {
    const name = artifactName(upload);
    if (name !== undefined) namesBefore.set(name, (namesBefore.get(name) ?? new Set()).add(upload.job.id));
  }
  for (const [name, jobs] of uploaders) {
    if (jobs.size > 1 && jobs.size > (namesBefore.get(name)?.size ?? 0)) {
      const producer = [...jobs].find((id) => producers.includes(id)) ?? producers[0] ?? '';
      violations.push({ consumer: undefined, producer, message: `jobs ${[...jobs].map((id) => `'${id}'`).join(' and ')} would upload artifacts named '${name}'.` });
    }
  }
  for (const consumer of converted) {
    const producer = producerOf(plan, consumer);
    const job = jobAfter(consumer);
    const beforeJob = before.workflow.jobs.find((j) => j.id === consumer);
    if (job === undefined || beforeJob === undefined) continue;
    const pulled = new Set(
      before.channels.receipts
        .filter((r) => r.consumer === beforeJob && r.fetch.kind === 'pull')
        .flatMap((r) => (r.fetch.kind === 'pull' ? outputsRead(before.flow, r.fetch.pull.ref.expr, r.fetch.pull.ref.scope) : []))
        .filter((o) => o.job === producer)
        .map((o) => o.output),
    );
    const registryPath = (text: string | undefined): boolean => text !== undefined && plan.added.some((a) => a.job === consumer && a.condition !== undefined) && !plan.added.some((a) => a.job === consumer && a.condition !== undefined && text.includes(a.condition.trim()));
    const stillPulls = after.channels.receipts.some((r) => r.consumer === job && r.channel.kind === 'registry' && r.channel.producer.id === producer);
    // Any other use of what it pulled before (an inspect of the registry reference, say) outside the registry path.
    const pulledBefore = before.channels.receipts.filter((r) => r.consumer === beforeJob && r.fetch.kind === 'pull').map((r) => (r.fetch.kind === 'pull' ? render(before.flow, r.fetch.pull.ref.expr, r.fetch.pull.ref.scope) : ''));
    const stillUses = after.facts.uses.some(
      (u) => u.job === job && !registryPath(u.step?.if?.value) && pulledBefore.includes(render(after.flow, u.ref.expr, u.ref.scope)),
    );
    const mentions = (text: string): boolean => [...pulled].some((o) => new RegExp(`needs\\.${escape(producer)}\\.outputs\\.${escape(o)}(?![A-Za-z0-9_-])`).test(text));
    const leftover =
      job.steps.some((step) => !registryPath(step.if?.value) && [step.run, ...step.with.values(), ...step.env.values()].some((f) => f !== undefined && mentions(f.value))) ||
      [...job.env.values()].some((f) => mentions(f.value));
    if (stillPulls || stillUses || leftover) violations.push({ consumer, producer, message: `'${consumer}' would still use the registry reference after conversion.` });
  }
  for (const added of plan.added) {
    if (added.condition === undefined) continue;
    const job = jobAfter(added.job);
    const beforeJob = before.workflow.jobs.find((j) => j.id === added.job);
    const step = job?.steps.find((s) => s.name?.value === added.name && !beforeJob?.steps.some((b) => b.name?.value === added.name));
    if (step !== undefined && step.if?.value.includes(added.condition.trim()) !== true) {
      violations.push({ consumer: converted.has(added.job) ? added.job : undefined, producer: producerOf(plan, added.job) || added.job, message: `new step '${added.name}' would not carry the condition '${added.condition.trim()}' of the path it replaces.` });
    }
  }
  const findingsBefore = countByJob(before, checkModel(before));
  const findingsAfter = checkModel(after);
  const countsAfter = countByJob(after, findingsAfter);
  for (const [key, count] of countsAfter) {
    if (count <= (findingsBefore.get(key) ?? 0)) continue;
    const [rule, jobId] = key.split('\u0000');
    violations.push({ consumer: converted.has(jobId ?? '') ? jobId : undefined, producer: converted.has(jobId ?? '') ? producerOf(plan, jobId ?? '') : (producers.includes(jobId ?? '') ? (jobId ?? '') : (producers[0] ?? '')), message: `handover check would report more [${rule ?? ''}] in job '${jobId ?? ''}' than before.` });
  }
  for (const finding of findingsAfter) {
    const job = jobAt(after, finding.offset);
    if (job === undefined || !converted.has(job.id) || finding.ruleId === 'suppression') continue;
    if ((findingsBefore.get(`${finding.ruleId}\u0000${job.id}`) ?? 0) > 0 && !['registry-pull', 'empty-image-ref', 'unverified-image', 'tag-mismatch', 'artifact-mismatch', 'consumer-needs'].includes(finding.ruleId)) continue;
    violations.push({ consumer: job.id, producer: producerOf(plan, job.id), message: `handover check would still report [${finding.ruleId}] on line ${finding.line}: ${finding.message}` });
  }
  if (violations.length === 0 && planMigration(after, options, leave).edits.length > 0) {
    violations.push({ consumer: undefined, producer: producers[0] ?? '', message: 'a second run would change the result again.' });
  }
  return violations;
}
