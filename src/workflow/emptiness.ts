/**
 * Can an output be empty? Follows `needs.<job>.outputs.<name>` to the job's
 * `outputs:` map, then `steps.<id>.outputs.<name>` to the step that writes it.
 */
import { conditionRefs, findExpressions, hasNonEmptyFallback, refsInExpressions, type ContextRef } from './expressions.ts';
import { jobById, type Job, type Step, type Workflow } from './model.ts';
import { outputWrites, parseScript } from './shell.ts';
import { positionAt } from './source.ts';

export interface EmptyOutput {
  /** Why it can be empty, as a sentence fragment for messages. */
  reason: string;
  /** The job whose step decides it. */
  job: Job;
  /** The step outputs (`<step id>.<output>`) that decide whether it is set: its own, and those its writer tests. */
  deciders: Set<string>;
}

/** Resolves a reference to the step that sets it, or undefined when it cannot be empty. */
export function mayBeEmpty(workflow: Workflow, job: Job, ref: ContextRef, depth = 0): EmptyOutput | undefined {
  if (depth > 4 || ref.property !== 'outputs' || ref.output === undefined) return undefined;
  if (ref.context === 'steps') return stepOutputMayBeEmpty(workflow, job, ref.id, ref.output);
  const producer = jobById(workflow, ref.id);
  const output = producer?.outputs.get(ref.output);
  if (producer === undefined || output === undefined) return undefined;
  const spans = findExpressions(output.value);
  const literal = output.value.replace(/\$\{\{[^}]*\}\}/g, '').trim();
  if (spans.length === 0) return output.value.trim() === '' ? { reason: `${producer.id} declares it empty`, job: producer, deciders: new Set() } : undefined;
  if (spans.every((s) => hasNonEmptyFallback(s.body)) && spans.length === 1 && literal === '') return undefined;
  for (const inner of refsInExpressions(output.value)) {
    const found = mayBeEmpty(workflow, producer, inner, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function stepOutputMayBeEmpty(workflow: Workflow, job: Job, stepId: string, name: string): EmptyOutput | undefined {
  const step = job.steps.find((s) => s.id?.value === stepId);
  if (step === undefined) return undefined;
  const deciders = new Set([`${stepId}.${name}`, ...stepOutputsRead(step)]);
  if (step.if !== undefined) {
    return { reason: `step '${stepId}' of job '${job.id}' runs only if ${step.if.value.trim()}`, job, deciders };
  }
  const run = step.run;
  if (run === undefined) return undefined;
  const allWrites = outputWrites(parseScript(run.value));
  // Outputs the same script writes are set by the same branches: testing one tests the decision.
  for (const write of allWrites) deciders.add(`${stepId}.${write.name}`);
  const writes = allWrites.filter((w) => w.name === name);
  const lineOf = (index: number): number => positionAt(workflow.file, run.offsetOf(index)).line;
  if (writes.length === 0) return { reason: `step '${stepId}' of job '${job.id}' never writes '${name}'`, job, deciders };
  const empty = writes.find((w) => w.value.trim() === '' || w.value.trim() === '""' || w.value.trim() === "''");
  if (empty !== undefined) {
    return { reason: `step '${stepId}' of job '${job.id}' writes '${name}=' empty on line ${lineOf(empty.index)}`, job, deciders };
  }
  // Writes in both branches of an if/else cover every path.
  const bothBranches = writes.length >= 2 && /\belse\b/.test(run.value);
  if (writes.every((w) => w.conditional) && !bothBranches) {
    return { reason: `step '${stepId}' of job '${job.id}' writes '${name}' only under a condition`, job, deciders };
  }
  return undefined;
}

function stepOutputsRead(step: Step): string[] {
  const text = `${step.run?.value ?? ''}\n${step.if?.value ?? ''}`;
  return refsInExpressions(text)
    .concat(step.if === undefined ? [] : conditionRefs(step.if.value))
    .filter((r) => r.context === 'steps' && r.output !== undefined)
    .map((r) => `${r.id}.${r.output ?? ''}`);
}

/**
 * True when a condition on the use tests the same decision that sets the
 * value: the output itself, or the step output its writer tests. A condition
 * with `||` can hold while the decision says no, so it guards nothing.
 */
export function isGuarded(conditions: readonly string[], ref: ContextRef, empty: EmptyOutput): boolean {
  const decides = (r: ContextRef): boolean => r.context === 'steps' && empty.deciders.has(`${r.id}.${r.output ?? ''}`);
  for (const condition of conditions) {
    if (condition.includes('||')) continue;
    for (const guard of conditionRefs(condition)) {
      if (guard.context === ref.context && guard.id === ref.id && guard.output === ref.output) return true;
      if (decides(guard)) return true;
      if (guard.context === 'needs' && guard.id === empty.job.id && guard.output !== undefined) {
        const value = empty.job.outputs.get(guard.output)?.value ?? '';
        const refs = refsInExpressions(value);
        if (!value.includes('||') && refs.length > 0 && refs.every(decides)) return true;
      }
    }
  }
  return false;
}
