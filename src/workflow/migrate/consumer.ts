/**
 * A consumer's side of a migration: load steps where it pulled (or before its
 * first use), logins removed, every use of the registry reference replaced by
 * the local tag, and its gate moved to the handover. On two-path workflows the
 * registry path is kept, narrowed to its condition.
 */
import { LOAD_ACTION } from '../actions.ts';
import { conditionRefs } from '../expr/references.ts';
import { sameImage, type Receipt } from '../model/channels.ts';
import { stepScope } from '../model/dataflow.ts';
import type { Located, RegistryPull } from '../model/facts.ts';
import { followsPolicy } from '../model/push-policy.ts';
import { outputsRead, render } from '../model/symbols.ts';
import type { Field, Job, Step } from '../model/workflow.ts';
import { engineCommand } from '../shell/engine.ts';
import {
  PULL_STEP_VERBS,
  blankLinesBetweenSteps,
  both,
  inShell,
  inString,
  inYaml,
  negated,
  replaceScalar,
  setCondition,
  stepIndent,
  type Context,
  type Handover,
} from './context.ts';
import { renderSteps, type NewStep } from './render.ts';
import { stepDeletionSpan, stepSpan } from './spans.ts';

function loadSteps(context: Context, producer: Job, handover: Handover, condition: string | undefined): NewStep[] {
  const conditionField: [string, string][] = condition === undefined ? [] : [['if', condition]];
  const comments = (ref: { comment: string | undefined }): { comments?: Record<string, string> } => (ref.comment === undefined ? {} : { comments: { uses: ref.comment } });
  if (handover.kind === 'bundle') {
    const load = context.style.ours('load', LOAD_ACTION);
    const expect: [string, string][] = handover.digestOutput === undefined ? [] : [['expect', `\${{ needs.${producer.id}.outputs.${handover.digestOutput} }}`]];
    return [{ fields: [['name', `Load image from ${producer.id}`], ...conditionField, ['uses', load.uses]], ...comments(load), with: [['name', handover.name], ...expect, ['tags', inYaml(handover.tag)]] }];
  }
  const download = context.style.action('actions/download-artifact');
  const directory = handover.archive.slice(0, handover.archive.lastIndexOf('/')) || '.';
  return [
    { fields: [['name', 'Download image artifact'], ...conditionField, ['uses', download.uses]], ...comments(download), with: [['name', handover.name], ['path', directory]] },
    { fields: [['name', 'Load image'], ...conditionField, ['run', `docker load --input ${handover.archive}`]] },
    { fields: [['name', 'Verify image'], ...conditionField, ['run', `docker image inspect ${inShell(handover.tag)}`]] },
  ];
}

/** Only pulls, tags, logins and inspects: a step migrate may replace whole. */
function onlyPulls(context: Context, job: Job, step: Step): boolean {
  const script = context.model.flow.script(job, step);
  if (script === undefined) return false;
  return script.script.commands.every((c) => {
    const head = c.words[0]?.text ?? '';
    if (['echo', 'set', 'printf'].includes(head)) return true;
    const engine = engineCommand(c);
    return engine !== undefined && PULL_STEP_VERBS.has(engine.verb);
  });
}

/** What a consumer takes from one producer, and how that producer now hands it over. */
export interface ConsumerPart {
  producer: Job;
  receipts: Receipt[];
  handover: Handover;
}

const pullsOf = (receipts: readonly Receipt[]): RegistryPull[] =>
  receipts.map((r) => (r.fetch.kind === 'pull' ? r.fetch.pull : undefined)).filter((p): p is RegistryPull => p !== undefined);

/** Why the consumer cannot be converted, or undefined when it can. */
function obstacle(context: Context, consumer: Job, parts: readonly ConsumerPart[], explicit: readonly Step[]): string | undefined {
  const { flow, facts } = context.model;
  const pulls = parts.flatMap((part) => pullsOf(part.receipts));
  const runnerPull = pulls.find((p) => p.kind === 'container' || p.kind === 'service');
  if (runnerPull !== undefined) return `the runner pulls the image for its ${runnerPull.kind === 'container' ? 'job container' : 'service'} before any step could load it; run it with docker run after loading instead.`;
  const blocked = explicit.find((step) => !onlyPulls(context, consumer, step));
  if (blocked !== undefined) return `step '${blocked.name?.value ?? blocked.index + 1}' does more than pull the image; move the rest into a step of its own and run migrate again.`;
  if (parts.length > 1 && parts.some((part) => part.handover.condition !== undefined)) return 'it takes images from several jobs, one of them built only on some path; convert it by hand.';
  for (const part of parts) {
    const retagged = facts.retags.filter((r) => r.job === consumer && pullsOf(part.receipts).some((p) => sameImage(flow, r.source, p.ref)));
    const otherTag = retagged.find((r) => render(flow, r.target.expr, r.target.scope).toLowerCase() !== part.handover.tag.literal.toLowerCase());
    if (otherTag !== undefined) return `it tags the image '${otherTag.target.value}', not ${part.handover.tag.literal}; pass --tag to choose one tag for all consumers.`;
    const condition = part.handover.condition;
    if (condition !== undefined && explicit.length > 0 && retagged.length === 0) {
      return `the image is built only when ${condition.trim()}, and on the other path it uses the registry reference itself; tag the pulled image ${part.handover.tag.literal} first.`;
    }
  }
  return undefined;
}

/** Converts one consumer, for every producer it takes an image from; false (with a note) when it cannot. */
export function planConsumer(context: Context, consumer: Job, parts: readonly ConsumerPart[]): boolean {
  const { flow, facts } = context.model;
  const pulls = parts.flatMap((part) => pullsOf(part.receipts));
  const explicit = [...new Set(pulls.filter((p) => p.kind === 'pull').map((p) => p.step).filter((s): s is Step => s !== undefined))].sort((a, b) => a.index - b.index);
  const reason = obstacle(context, consumer, parts, explicit);
  if (reason !== undefined) {
    context.notes.push(`${consumer.id}: left as it is — ${reason}`);
    return false;
  }
  const first = explicit[0] ?? consumer.steps.find((s) => pulls.some((p) => p.step === s));
  if (first === undefined) return false;

  // Several producers are only converted when none has a second path, so one condition holds for all parts.
  const condition = parts[0]?.handover.condition;
  const twoPaths = condition !== undefined;
  const registryPath = twoPaths ? negated(condition) : undefined;
  const loadCondition = both(first.if?.value, condition);
  const blank = blankLinesBetweenSteps(context, consumer);
  const newSteps = parts.flatMap((part) => loadSteps(context, part.producer, part.handover, loadCondition));
  const rendered = renderSteps(newSteps, stepIndent(context, consumer, first), blank);
  const kept = new Set<Step>();
  const touched = new Set<Step>();
  const replacing = explicit[0] !== undefined && !twoPaths;
  if (replacing) touched.add(first);
  // Logins first: an edit at the end of a login step and the steps inserted before the pull share an offset, and keep their order.
  const pushesHere = facts.pushes.some((p) => p.job === consumer);
  for (const login of facts.logins.filter((l) => l.job === consumer && !explicit.includes(l.step))) {
    if (pushesHere) break;
    const onlyLogin = login.step.uses !== undefined || (flow.script(consumer, login.step)?.script.commands.every((c) => engineCommand(c)?.verb === 'login' || ['echo', 'printf'].includes(c.words[0]?.text ?? '')) ?? false);
    if (!onlyLogin || touched.has(login.step) || kept.has(login.step)) continue;
    if (twoPaths) {
      setCondition(context, login.step, both(login.step.if?.value, registryPath) ?? '');
      kept.add(login.step);
    } else {
      const [from, to] = stepDeletionSpan(context.text, login.step.offset);
      context.edits.push({ start: from, end: to, text: '' });
      touched.add(login.step);
    }
  }
  if (replacing) {
    const [start, end] = stepSpan(context.text, first.offset);
    context.edits.push({ start, end, text: rendered });
    for (const step of explicit.slice(1)) {
      const [from, to] = stepDeletionSpan(context.text, step.offset);
      context.edits.push({ start: from, end: to, text: '' });
      touched.add(step);
    }
  } else {
    const [start] = stepSpan(context.text, first.offset);
    context.edits.push({ start, end: start, text: `${rendered}${blank ? '\n' : ''}` });
    for (const step of explicit) {
      setCondition(context, step, both(step.if?.value, registryPath) ?? '');
      kept.add(step);
    }
  }
  for (const step of newSteps) context.added.push({ job: consumer.id, name: String(step.fields[0]?.[1] ?? ''), condition: loadCondition });

  const replaced: [number, number][] = [];
  for (const part of parts) {
    replaceReferences(context, consumer, part.producer, pullsOf(part.receipts), part.handover, new Set([...touched, ...kept]), replaced);
    regate(context, consumer, part.producer, part.handover);
  }
  const what = parts.map((part) => `${part.handover.tag.literal} from '${part.producer.id}'`).join(' and ');
  context.notes.push(`${consumer.id}: loads ${what} instead of ${twoPaths ? `pulling it when ${condition.trim()}` : 'logging in and pulling'}.`);
  // A compose file is not read: if it names the registry image, it would still pull.
  const composes = consumer.steps.some((step) => flow.script(consumer, step)?.script.commands.some((c) => engineCommand(c)?.verb === 'compose'));
  if (composes && !pulls.some((p) => p.kind === 'compose')) {
    context.notes.push(`${consumer.id}: runs docker compose; if its compose file names the registry image, make it use ${parts.map((part) => part.handover.tag.literal).join(' and ')}.`);
  }
  return true;
}

/** The consumer uses the local tag everywhere it used the registry reference: env values, docker run words, `${{ }}` spans. */
function replaceReferences(context: Context, consumer: Job, producer: Job, pulls: readonly RegistryPull[], handover: Handover, skip: ReadonlySet<Step>, replaced: [number, number][]): void {
  const { flow } = context.model;
  const pulled = new Set(pulls.flatMap((p) => outputsRead(flow, p.ref.expr, p.ref.scope)).filter((o) => o.job === producer.id).map((o) => o.output));
  const replacedEnv = new Set<string>();
  const envs: [Map<string, Field>, Step | undefined][] = [[consumer.env, undefined], ...consumer.steps.filter((s) => !skip.has(s)).map((s): [Map<string, Field>, Step] => [s.env, s])];
  for (const [env, step] of envs) {
    for (const [name, field] of env) {
      const scope = step === undefined ? { level: 'job' as const, job: consumer } : stepScope(consumer, step);
      const reads = outputsRead(flow, flow.template(field.value), scope).filter((o) => o.job === producer.id && pulled.has(o.output));
      const at = field.node.range?.[0] ?? -1;
      if (reads.length === 0 || replaced.some(([from]) => from === at)) continue;
      replaceScalar(context, field, inYaml(handover.tag));
      replaced.push([at, field.node.range?.[1] ?? at + 1]);
      replacedEnv.add(name);
    }
  }
  // Every other use of the registry image in the job: docker run, inspect, tag words; action inputs.
  const registryImages = pulls.map((p) => p.ref);
  const isRegistryImage = (ref: Located): boolean =>
    outputsRead(flow, ref.expr, ref.scope).some((o) => o.job === producer.id && pulled.has(o.output)) || registryImages.some((image) => sameImage(flow, image, ref));
  for (const use of context.model.facts.uses) {
    if (use.job !== consumer || use.step === undefined || skip.has(use.step) || !isRegistryImage(use.ref)) continue;
    const raw = use.ref.raw;
    if (raw === undefined) {
      const field = [...use.step.with.values()].find((f) => f.offsetOf(0) === use.ref.offset);
      if (field !== undefined && !replaced.some(([from]) => from === use.ref.offset)) {
        replaceScalar(context, field, inYaml(handover.tag));
        replaced.push([use.ref.offset, use.ref.offset + 1]);
      }
      continue;
    }
    const variable = /^"?\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?"?$/.exec(raw)?.[1];
    if (variable !== undefined && replacedEnv.has(variable)) continue;
    if (context.text.slice(use.ref.offset, use.ref.offset + raw.length) !== raw || replaced.some(([from]) => from === use.ref.offset)) continue;
    context.edits.push({ start: use.ref.offset, end: use.ref.offset + raw.length, text: inShell(handover.tag) });
    replaced.push([use.ref.offset, use.ref.offset + raw.length]);
  }
  for (const step of consumer.steps.filter((s) => !skip.has(s))) {
    const fields = [step.run, ...step.with.values()].filter((f): f is Field => f !== undefined);
    for (const field of fields) {
      const [start, end] = field.node.range ?? [0, 0];
      const source = context.text.slice(start, end);
      for (const match of source.matchAll(/\$\{\{\s*needs\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)\s*\}\}/g)) {
        if (match[1] !== producer.id || !pulled.has(match[2] ?? '')) continue;
        const at = start + (match.index ?? 0);
        if (replaced.some(([from, to]) => from <= at && at < to)) continue;
        context.edits.push({ start: at, end: at + match[0].length, text: field === step.run ? inString(handover.tag) : inYaml(handover.tag) });
      }
    }
  }
}

/** Re-gates a converted consumer on the handover, where it was gated on a push-policy output. */
function regate(context: Context, consumer: Job, producer: Job, handover: Handover): void {
  const field = consumer.if;
  if (field === undefined || handover.gateOutput === undefined) return;
  const [start, end] = field.node.range ?? [0, 0];
  const source = context.text.slice(start, end);
  for (const ref of conditionRefs(field.value)) {
    if (ref.context !== 'needs' || ref.id !== producer.id || ref.output === undefined) continue;
    if (followsPolicy(context.model.facts, producer, ref.output) === undefined) continue;
    const at = source.indexOf(ref.text);
    if (at === -1) continue;
    context.edits.push({ start: start + at, end: start + at + ref.text.length, text: `needs.${producer.id}.outputs.${handover.gateOutput}` });
  }
}

