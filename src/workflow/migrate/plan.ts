/**
 * Plans the text edits that move a registry handover onto an artifact
 * handover. Pure: reads the model and returns edits; nothing is
 * re-stringified, so every line it does not edit comes out byte for byte.
 *
 * It adds and never repurposes: the producer gets new steps and new outputs
 * (existing outputs keep their expressions), and only the consumers it
 * converts are re-gated. New steps carry the condition of the path they
 * replace. What it cannot convert it leaves, and says so.
 */
import { EXPORT_ACTION, LOAD_ACTION } from '../actions.ts';
import { conditionRefs } from '../expr/references.ts';
import { negate, parseCondition, formatExpression } from '../expr/syntax.ts';
import { isLiteral, repositoryName } from '../image-names.ts';
import { sameImage, type Channel, type Receipt } from '../model/channels.ts';
import { stepScope } from '../model/dataflow.ts';
import { artifactName, type ImageBuild, type Located, type RegistryPull } from '../model/facts.ts';
import type { WorkflowModel } from '../model/index.ts';
import { followsPolicy } from '../model/push-policy.ts';
import { outputsRead, render } from '../model/symbols.ts';
import type { Field, Job, Step } from '../model/workflow.ts';
import { engineCommand } from '../shell/engine.ts';
import type { TextEdit } from './apply.ts';
import { renderSteps, yamlScalar, type NewStep, type StepIndent } from './render.ts';
import { blockSpan, columnOf, dashColumn, stepDeletionSpan, stepSpan, usesBlankLines } from './spans.ts';
import { FileStyle, outputName, stepId, type ActionRef } from './style.ts';

export type MigrateStyle = 'action' | 'steps';

export interface MigrateOptions {
  style: MigrateStyle;
  /** The tag consumers load; derived from the pipeline when not given. */
  tag?: string;
  /** The artifact name. */
  artifact?: string;
}

/** Jobs migrate is told to leave alone (after an invariant failed on them). */
export interface Leave {
  producers: Set<string>;
  consumers: Set<string>;
}

/** A step migrate adds, and the condition it must carry. */
export interface AddedStep {
  job: string;
  name: string;
  condition: string | undefined;
}

export interface MigratePlan {
  edits: TextEdit[];
  /** What was done and what was left, one line each, for the summary. */
  notes: string[];
  /** Consumers converted, by producer. */
  converted: Map<string, string[]>;
  added: AddedStep[];
}

const DEFAULT_ARTIFACT = 'docker-image';
const BUILD_INPUTS_TO_COPY = ['context', 'file', 'build-args', 'target', 'build-contexts', 'secrets', 'ssh'];
/** Commands a pull step may hold for migrate to replace it whole. */
const PULL_STEP_VERBS = new Set(['pull', 'tag', 'login', 'inspect', 'images']);

/** The tag consumers get: a literal, and the env variable that holds it when the workflow keeps it in one. */
interface Tag {
  literal: string;
  env: string | undefined;
}

const inYaml = (tag: Tag): string => (tag.env === undefined ? tag.literal : `\${{ env.${tag.env} }}`);
const inShell = (tag: Tag): string => (tag.env === undefined ? tag.literal : `"$${tag.env}"`);
const inString = (tag: Tag): string => (tag.env === undefined ? tag.literal : `\${${tag.env}}`);

/** How the consumers get the image once migrated. */
interface Handover {
  kind: 'bundle' | 'artifact';
  name: string;
  tag: Tag;
  /** The archive file (artifact kind). */
  archive: string;
  /** `needs.<producer>.outputs.<name>` holding the bundle digest (bundle kind). */
  digestOutput: string | undefined;
  /** The producer output gating the converted consumers, when they were gated on the push policy. */
  gateOutput: string | undefined;
  /** The condition of the build path (the producer's build step's `if:`), when there is one. */
  condition: string | undefined;
}

interface Context {
  model: WorkflowModel;
  text: string;
  options: MigrateOptions;
  style: FileStyle;
  edits: TextEdit[];
  notes: string[];
  added: AddedStep[];
  pins: Set<string>;
}

function withComment(ref: ActionRef, context: Context): { uses: string; comment: string | undefined } {
  if (ref.pinNote !== undefined) context.pins.add(ref.pinNote);
  return { uses: ref.uses, comment: ref.comment };
}

/** `a && b`, parenthesising a side that holds `||`. */
function both(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined || a.trim() === '') return b;
  if (b === undefined || b.trim() === '') return a;
  const wrap = (c: string): string => {
    const bare = c.trim().replace(/^\$\{\{([\s\S]*)\}\}$/, '$1').trim();
    return bare.includes('||') ? `(${bare})` : bare;
  };
  return `${wrap(a)} && ${wrap(b)}`;
}

function negated(condition: string): string {
  try {
    return formatExpression(negate(parseCondition(condition)));
  } catch {
    return `!(${condition.trim().replace(/^\$\{\{([\s\S]*)\}\}$/, '$1').trim()})`;
  }
}

function stepIndent(context: Context, job: Job, step: Step): StepIndent {
  const withStart = job.steps.map((s) => s.withNode?.range?.[0]).find((o) => o !== undefined);
  const keyColumn = columnOf(context.text, step.offset);
  const inputs = withStart === undefined ? 2 : columnOf(context.text, withStart) - keyColumn;
  return { dash: dashColumn(context.text, step.offset), inputs: inputs > 0 ? inputs : 2 };
}

function blankLinesBetweenSteps(context: Context, job: Job): boolean {
  return usesBlankLines(context.text, job.steps.map((s) => s.offset));
}

/** Adds `key: value` as the last entry of a block mapping. */
function appendToMap(context: Context, firstKeyOffset: number, line: string): void {
  const column = columnOf(context.text, firstKeyOffset);
  const [, end] = blockSpan(context.text, firstKeyOffset, column - 1);
  context.edits.push({ start: end, end, text: `${' '.repeat(column)}${line}\n` });
}

function replaceScalar(context: Context, field: Field, value: string): void {
  const [start, end] = field.node.range ?? [0, 0];
  const quoted =
    field.node.type === 'QUOTE_DOUBLE' ? JSON.stringify(value) : field.node.type === 'QUOTE_SINGLE' ? `'${value.replaceAll("'", "''")}'` : yamlScalar(value);
  context.edits.push({ start, end, text: quoted });
}

/** Sets a step's `if:` (replacing it, or adding it as the step's last key). */
function setCondition(context: Context, job: Job, step: Step, condition: string): void {
  if (step.if !== undefined) {
    replaceScalar(context, step.if, condition);
    return;
  }
  const [, end] = stepSpan(context.text, step.offset);
  const key = ' '.repeat(dashColumn(context.text, step.offset) + 2);
  context.edits.push({ start: end, end, text: `${key}if: ${yamlScalar(condition)}\n` });
  void job;
}

function copiedBlock(context: Context, map: { items: unknown[] } | undefined, names: readonly string[] | undefined, indent: number): string {
  let copied = '';
  for (const pair of (map?.items ?? []) as { key?: { value?: unknown; range?: [number, number, number] } | null }[]) {
    const key = pair.key;
    if (key?.range === undefined || (names !== undefined && !names.includes(String(key.value)))) continue;
    const column = columnOf(context.text, key.range[0]);
    const [start, end] = blockSpan(context.text, key.range[0], column);
    const shift = indent - column;
    copied += context.text
      .slice(start, end)
      .split('\n')
      .map((line) => (line === '' ? line : shift >= 0 ? ' '.repeat(shift) + line : line.slice(-shift)))
      .join('\n');
  }
  return copied;
}

/** The tag the consumers already give the pulled image (`docker tag "$REF" charon:local`), else one derived from the pushed repository. */
function chooseTag(context: Context, receipts: readonly Receipt[], reuse: Channel | undefined): Tag {
  const { flow, facts, workflow } = context.model;
  if (context.options.tag !== undefined) return { literal: context.options.tag, env: undefined };
  const fromLocated = (located: Located): Tag | undefined => {
    const rendered = render(flow, located.expr, located.scope);
    if (!isLiteral(rendered) || rendered.includes('{')) return undefined;
    const sole = located.expr.kind === 'concat' && located.expr.parts.length === 1 ? located.expr.parts[0] : located.expr;
    const variable = sole?.kind === 'shellVar' ? sole.name : /^\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/.exec(located.value.trim())?.[1];
    return { literal: rendered, env: variable !== undefined && workflow.env.has(variable) ? variable : undefined };
  };
  for (const receipt of receipts) {
    if (receipt.fetch.kind !== 'pull') continue;
    const pull = receipt.fetch.pull;
    for (const retag of facts.retags.filter((r) => r.job === receipt.consumer && sameImage(flow, r.source, pull.ref))) {
      const tag = fromLocated(retag.target);
      if (tag !== undefined) return tag;
    }
  }
  for (const image of reuse?.images ?? []) {
    const tag = fromLocated(image);
    if (tag !== undefined) return tag;
  }
  for (const receipt of receipts) {
    for (const pushed of receipt.channel.images) {
      const repository = repositoryName(render(flow, pushed.expr, pushed.scope).replace(/\{[^}]*\}/g, ''));
      if (/^[a-z0-9][a-z0-9._-]*$/.test(repository)) return { literal: `${repository}:local`, env: undefined };
    }
  }
  return { literal: 'image:local', env: undefined };
}

/** An artifact or bundle the producer already uploads holding the image under the tag. */
function reusableChannel(context: Context, producer: Job, tag: Tag | undefined): Channel | undefined {
  const { flow } = context.model;
  return context.model.channels.channels.find(
    (c) =>
      c.producer === producer &&
      (c.kind === 'artifact' || c.kind === 'bundle') &&
      (tag === undefined || c.images.some((image) => render(flow, image.expr, image.scope).toLowerCase() === tag.literal.toLowerCase())),
  );
}

function mainBuild(context: Context, producer: Job, receipts: readonly Receipt[]): ImageBuild | undefined {
  const { facts } = context.model;
  const push = receipts.map((r) => r.channel.push).find((p) => p !== undefined);
  if (push === undefined) return undefined;
  const builds = facts.builds.filter((b) => b.job === producer);
  return builds.find((b) => b.step === push.step) ?? builds.filter((b) => b.step.index <= push.step.index).at(-1);
}

/** Adds export steps (or reuses an upload) in the producer; undefined when it cannot. */
function planProducer(context: Context, producer: Job, receipts: readonly Receipt[], consumers: readonly Job[]): Handover | undefined {
  const { facts } = context.model;
  const artifact = context.options.artifact ?? DEFAULT_ARTIFACT;
  const existing = reusableChannel(context, producer, undefined);
  const tag = chooseTag(context, receipts, existing);
  const reuse = reusableChannel(context, producer, tag);
  const gateNeeded = consumers.some((c) => conditionRefs(c.if?.value ?? '').some((r) => r.context === 'needs' && r.id === producer.id && r.output !== undefined && followsPolicy(facts, producer, r.output) !== undefined));
  const taken = new Set<string>();

  if (reuse?.upload !== undefined) {
    const upload = reuse.upload;
    const kind = reuse.kind === 'bundle' ? 'bundle' : 'artifact';
    const file = reuse.exports.map((e) => e.file?.value).find((f) => f !== undefined) ?? upload.paths[0]?.value ?? '';
    let digestOutput: string | undefined;
    let gateOutput: string | undefined;
    let id = upload.step.id?.value;
    if ((kind === 'bundle' || gateNeeded) && id === undefined) {
      id = stepId(producer, kind === 'bundle' ? 'export-image' : 'upload-image', taken);
      const [, end] = stepSpan(context.text, upload.step.offset);
      context.edits.push({ start: end, end, text: `${' '.repeat(dashColumn(context.text, upload.step.offset) + 2)}id: ${id}\n` });
    }
    const lines: string[] = [];
    if (kind === 'bundle') {
      const found = [...producer.outputs].find(([, v]) => v.value.includes(`steps.${id ?? ''}.outputs.bundle-digest`));
      digestOutput = found?.[0] ?? outputName(producer, ['image', 'bundle', 'digest']);
      if (found === undefined) lines.push(`${digestOutput}: \${{ steps.${id ?? ''}.outputs.bundle-digest }}`);
    }
    if (gateNeeded) {
      gateOutput = outputName(producer, ['image', 'handover']);
      lines.push(`${gateOutput}: \${{ ${kind === 'bundle' ? `steps.${id ?? ''}.outputs.run-integration` : `steps.${id ?? ''}.outcome == 'success'`} }}`);
    }
    addOutputs(context, producer, lines);
    context.notes.push(`${producer.id}: already uploads ${tag.literal} as '${artifactName(upload) ?? artifact}'; the consumers load that.`);
    return { kind, name: artifactName(upload) ?? artifact, tag, archive: file, digestOutput, gateOutput, condition: upload.step.if?.value };
  }

  const build = mainBuild(context, producer, receipts);
  if (build === undefined || build.how === 'bake') {
    context.notes.push(
      `${producer.id}: left as it is — it ${build === undefined ? 'pushes an image migrate cannot find the build of' : 'builds with bake'}, so migrate cannot tell which image to export; export it by hand (docs/check-and-migrate.md shows the steps).`,
    );
    return undefined;
  }
  if (facts.uploads.some((u) => u.job === producer && artifactName(u) === artifact)) {
    context.notes.push(`${producer.id}: left as it is — it already uploads an artifact named '${artifact}' that does not hold ${tag.literal}; pass --artifact with another name.`);
    return undefined;
  }
  const condition = build.step.if?.value;
  const indent = stepIndent(context, producer, build.step);
  const inputIndent = indent.dash + 2 + indent.inputs;
  const archive = `/tmp/${repositoryName(tag.literal)}.tar`;
  const exportId = stepId(producer, 'export-image', taken);
  const uploadId = stepId(producer, 'upload-image', taken);
  const conditionField: [string, string][] = condition === undefined ? [] : [['if', condition]];
  const steps: NewStep[] = [];
  const ours = withComment(context.style.ours('export', EXPORT_ACTION), context);
  const upload = withComment(context.style.action('actions/upload-artifact'), context);

  if (build.how === 'build-push-action') {
    const buildRef = { uses: build.step.uses?.value ?? 'docker/build-push-action@v6', comment: context.style.action('docker/build-push-action').comment };
    const copiedInputs = copiedBlock(context, build.step.withNode, BUILD_INPUTS_TO_COPY, inputIndent);
    const copied = copiedInputs === '' ? {} : { copiedInputs };
    const comments = (ref: { comment: string | undefined }): { comments?: Record<string, string> } => (ref.comment === undefined ? {} : { comments: { uses: ref.comment } });
    const withStart = build.step.withNode?.range?.[0];
    if (build.cacheTo === undefined && withStart !== undefined) {
      appendToMap(context, withStart, 'cache-to: type=gha,mode=max');
      context.notes.push(`${producer.id}: the main build writes its cache (cache-to: type=gha,mode=max).`);
    }
    if (context.options.style === 'action') {
      steps.push(
        { fields: [['name', 'Build image for the handover'], ...conditionField, ['uses', buildRef.uses]], ...comments(buildRef), ...copied, with: [['platforms', 'linux/amd64'], ['load', true], ['tags', inYaml(tag)], ['cache-from', 'type=gha']] },
        { fields: [['name', 'Export image for integration jobs'], ['id', exportId], ...conditionField, ['uses', ours.uses]], ...comments(ours), with: [['images', inYaml(tag)], ['name', artifact], ['retention-days', 1]] },
      );
    } else {
      steps.push(
        { fields: [['name', 'Export image for integration jobs'], ['id', exportId], ...conditionField, ['uses', buildRef.uses]], ...comments(buildRef), ...copied, with: [['platforms', 'linux/amd64'], ['outputs', `type=docker,dest=${archive}`], ['tags', inYaml(tag)], ['cache-from', 'type=gha']] },
        { fields: [['name', 'Upload image artifact'], ['id', uploadId], ...conditionField, ['uses', upload.uses]], ...comments(upload), with: [['name', artifact], ['path', archive], ['retention-days', 1]] },
      );
    }
  } else {
    // docker build in a script: the image is in the engine; tag it for the consumers and hand it over.
    const source = build.tags[0];
    if (source?.raw === undefined) {
      context.notes.push(`${producer.id}: left as it is — its docker build names no tag migrate can read.`);
      return undefined;
    }
    const read = new Set([...source.raw.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] ?? ''));
    const copiedEnv = copiedBlock(context, (build.step.node.get('env', true) as { items: unknown[] } | undefined) ?? undefined, [...build.step.env.keys()].filter((name) => read.has(name)), indent.dash + 2 + indent.inputs);
    const env = copiedEnv === '' ? {} : { copiedEnv };
    const comments = (ref: { comment: string | undefined }): { comments?: Record<string, string> } => (ref.comment === undefined ? {} : { comments: { uses: ref.comment } });
    if (context.options.style === 'action') {
      steps.push(
        { fields: [['name', 'Tag image for the handover'], ...conditionField, ['run', `docker tag ${source.raw} ${inShell(tag)}`]], ...env },
        { fields: [['name', 'Export image for integration jobs'], ['id', exportId], ...conditionField, ['uses', ours.uses]], ...comments(ours), with: [['images', inYaml(tag)], ['name', artifact], ['retention-days', 1]] },
      );
    } else {
      steps.push(
        { fields: [['name', 'Export image for integration jobs'], ['id', exportId], ...conditionField, ['run', `docker tag ${source.raw} ${inShell(tag)}\ndocker save ${inShell(tag)} -o ${archive}\n`]], ...env },
        { fields: [['name', 'Upload image artifact'], ['id', uploadId], ...conditionField, ['uses', upload.uses]], ...comments(upload), with: [['name', artifact], ['path', archive], ['retention-days', 1]] },
      );
    }
  }
  const after = receipts.map((r) => r.channel.push?.step).find((s) => s !== undefined && s.index >= build.step.index) ?? build.step;
  const [, end] = stepSpan(context.text, after.offset);
  const blank = blankLinesBetweenSteps(context, producer);
  context.edits.push({ start: end, end, text: `${blank ? '\n' : ''}${renderSteps(steps, indent, blank)}` });
  for (const step of steps) context.added.push({ job: producer.id, name: String(step.fields[0]?.[1] ?? ''), condition });
  context.notes.push(`${producer.id}: exports ${tag.literal} as artifact '${artifact}' after '${after.name?.value ?? 'the build'}'${condition === undefined ? '' : `, on the path where ${condition.trim()}`}.`);

  const lines: string[] = [];
  let digestOutput: string | undefined;
  let gateOutput: string | undefined;
  if (context.options.style === 'action') {
    digestOutput = outputName(producer, ['image', 'bundle', 'digest']);
    lines.push(`${digestOutput}: \${{ steps.${exportId}.outputs.bundle-digest }}`);
  }
  if (gateNeeded) {
    gateOutput = outputName(producer, ['image', 'handover']);
    lines.push(`${gateOutput}: \${{ ${context.options.style === 'action' ? `steps.${exportId}.outputs.run-integration` : `steps.${uploadId}.outcome == 'success'`} }}`);
  }
  addOutputs(context, producer, lines);
  return { kind: context.options.style === 'action' ? 'bundle' : 'artifact', name: artifact, tag, archive, digestOutput, gateOutput, condition };
}

function addOutputs(context: Context, producer: Job, lines: readonly string[]): void {
  if (lines.length === 0) return;
  const outputsStart = producer.outputsNode?.range?.[0];
  if (outputsStart !== undefined && producer.outputs.size > 0) {
    for (const line of lines) appendToMap(context, outputsStart, line);
    return;
  }
  const stepsKey = producer.stepsNode?.range?.[0];
  if (stepsKey === undefined) return;
  const jobKeyColumn = columnOf(context.text, producer.node.range?.[0] ?? 0);
  const at = context.text.lastIndexOf('\n', context.text.lastIndexOf('steps:', stepsKey)) + 1;
  const pad = ' '.repeat(jobKeyColumn);
  context.edits.push({ start: at, end: at, text: `${pad}outputs:\n${lines.map((line) => `${pad}  ${line}\n`).join('')}` });
}

function loadSteps(context: Context, producer: Job, handover: Handover, condition: string | undefined): NewStep[] {
  const conditionField: [string, string][] = condition === undefined ? [] : [['if', condition]];
  const comments = (ref: { comment: string | undefined }): { comments?: Record<string, string> } => (ref.comment === undefined ? {} : { comments: { uses: ref.comment } });
  if (handover.kind === 'bundle') {
    const load = withComment(context.style.ours('load', LOAD_ACTION), context);
    const expect: [string, string][] = handover.digestOutput === undefined ? [] : [['expect', `\${{ needs.${producer.id}.outputs.${handover.digestOutput} }}`]];
    return [{ fields: [['name', `Load image from ${producer.id}`], ...conditionField, ['uses', load.uses]], ...comments(load), with: [['name', handover.name], ...expect, ['tags', inYaml(handover.tag)]] }];
  }
  const download = withComment(context.style.action('actions/download-artifact'), context);
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

/** Converts one consumer; false (with a note) when it cannot. */
function planConsumer(context: Context, consumer: Job, producer: Job, receipts: readonly Receipt[], handover: Handover): boolean {
  const { flow, facts } = context.model;
  const pulls = receipts.map((r) => (r.fetch.kind === 'pull' ? r.fetch.pull : undefined)).filter((p): p is RegistryPull => p !== undefined);
  const runnerPull = pulls.find((p) => p.kind === 'container' || p.kind === 'service');
  if (runnerPull !== undefined) {
    context.notes.push(`${consumer.id}: left as it is — the runner pulls the image for its ${runnerPull.kind === 'container' ? 'job container' : 'service'} before any step could load it; run it with docker run after loading instead.`);
    return false;
  }
  const explicit = [...new Set(pulls.filter((p) => p.kind === 'pull').map((p) => p.step).filter((s): s is Step => s !== undefined))].sort((a, b) => a.index - b.index);
  const blocked = explicit.find((step) => !onlyPulls(context, consumer, step));
  if (blocked !== undefined) {
    context.notes.push(`${consumer.id}: left as it is — step '${blocked.name?.value ?? blocked.index + 1}' does more than pull the image; move the rest into a step of its own and run migrate again.`);
    return false;
  }
  const retagged = facts.retags.filter((r) => r.job === consumer && pulls.some((p) => sameImage(flow, r.source, p.ref)));
  const otherTag = retagged.find((r) => render(flow, r.target.expr, r.target.scope).toLowerCase() !== handover.tag.literal.toLowerCase());
  if (otherTag !== undefined) {
    context.notes.push(`${consumer.id}: left as it is — it tags the image '${otherTag.target.value}', not ${handover.tag.literal}; pass --tag to choose one tag for all consumers.`);
    return false;
  }
  if (handover.condition !== undefined && explicit.length > 0 && retagged.length === 0) {
    context.notes.push(`${consumer.id}: left as it is — the image is built only when ${handover.condition.trim()}, and on the other path it uses the registry reference itself; tag the pulled image ${handover.tag.literal} first.`);
    return false;
  }
  const first = explicit[0] ?? consumer.steps.find((s) => pulls.some((p) => p.step === s));
  if (first === undefined) return false;

  const twoPaths = handover.condition !== undefined;
  const registryPath = twoPaths ? negated(handover.condition ?? '') : undefined;
  const loadCondition = both(first.if?.value, handover.condition);
  const blank = blankLinesBetweenSteps(context, consumer);
  const newSteps = loadSteps(context, producer, handover, loadCondition);
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
      setCondition(context, consumer, login.step, both(login.step.if?.value, registryPath) ?? '');
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
      setCondition(context, consumer, step, both(step.if?.value, registryPath) ?? '');
      kept.add(step);
    }
  }
  for (const step of newSteps) context.added.push({ job: consumer.id, name: String(step.fields[0]?.[1] ?? ''), condition: loadCondition });

  replaceReferences(context, consumer, producer, pulls, handover, new Set([...touched, ...kept]));
  regate(context, consumer, producer, handover);
  context.notes.push(`${consumer.id}: loads ${handover.tag.literal} from '${producer.id}' instead of ${twoPaths ? `pulling it when ${handover.condition?.trim() ?? ''}` : 'logging in and pulling'}.`);
  return true;
}

/** The consumer uses the local tag everywhere it used the registry reference: env values, docker run words, `${{ }}` spans. */
function replaceReferences(context: Context, consumer: Job, producer: Job, pulls: readonly RegistryPull[], handover: Handover, skip: ReadonlySet<Step>): void {
  const { flow } = context.model;
  const pulled = new Set(pulls.flatMap((p) => outputsRead(flow, p.ref.expr, p.ref.scope)).filter((o) => o.job === producer.id).map((o) => o.output));
  const replacedEnv = new Set<string>();
  const replaced: [number, number][] = [];
  const envs: [Map<string, Field>, Step | undefined][] = [[consumer.env, undefined], ...consumer.steps.filter((s) => !skip.has(s)).map((s): [Map<string, Field>, Step] => [s.env, s])];
  for (const [env, step] of envs) {
    for (const [name, field] of env) {
      const scope = step === undefined ? { level: 'job' as const, job: consumer } : stepScope(consumer, step);
      const reads = outputsRead(flow, flow.template(field.value), scope).filter((o) => o.job === producer.id && pulled.has(o.output));
      if (reads.length === 0) continue;
      replaceScalar(context, field, inYaml(handover.tag));
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

/** The consumer's `if:` tests an output of the producer that follows the push policy. */
function gatedOnPolicy(model: WorkflowModel, consumer: Job, producer: Job): boolean {
  return conditionRefs(consumer.if?.value ?? '').some((r) => r.context === 'needs' && r.id === producer.id && r.output !== undefined && followsPolicy(model.facts, producer, r.output) !== undefined);
}

export function planMigration(model: WorkflowModel, options: MigrateOptions, leave: Leave = { producers: new Set(), consumers: new Set() }): MigratePlan {
  const context: Context = { model, text: model.workflow.file.text, options, style: new FileStyle(model.workflow), edits: [], notes: [], added: [], pins: new Set() };
  const converted = new Map<string, string[]>();
  const byProducer = new Map<Job, Receipt[]>();
  const published = new Set<string>();
  for (const receipt of model.channels.receipts) {
    if (receipt.channel.kind !== 'registry' || receipt.fetch.kind !== 'pull') continue;
    // A job that runs only when the image was pushed, and not through a push-policy gate, works on the published image.
    if (receipt.publishOnly && !gatedOnPolicy(model, receipt.consumer, receipt.channel.producer)) {
      if (!published.has(receipt.consumer.id)) context.notes.push(`${receipt.consumer.id}: left as it is — it runs only when '${receipt.channel.producer.id}' pushed, so it works on the published image (a deploy or a check of what was published).`);
      published.add(receipt.consumer.id);
      continue;
    }
    const list = byProducer.get(receipt.channel.producer) ?? [];
    list.push(receipt);
    byProducer.set(receipt.channel.producer, list);
  }
  for (const [producer, receipts] of byProducer) {
    if (leave.producers.has(producer.id)) continue;
    const consumers = [...new Set(receipts.map((r) => r.consumer))].filter((c) => !leave.consumers.has(c.id));
    if (consumers.length === 0) continue;
    const mark = context.edits.length;
    const notesMark = context.notes.length;
    const handover = planProducer(context, producer, receipts.filter((r) => consumers.includes(r.consumer)), consumers);
    if (handover === undefined) continue;
    const done: string[] = [];
    for (const consumer of consumers) {
      const edits = context.edits.length;
      const added = context.added.length;
      if (planConsumer(context, consumer, producer, receipts.filter((r) => r.consumer === consumer), handover)) done.push(consumer.id);
      else {
        context.edits.length = edits;
        context.added.length = added;
      }
    }
    if (done.length === 0) {
      context.edits.length = mark;
      context.added = context.added.filter((a) => a.job !== producer.id);
      context.notes.splice(notesMark, context.notes.length - notesMark, ...context.notes.slice(notesMark).filter((n) => !n.startsWith(`${producer.id}:`)));
      continue;
    }
    converted.set(producer.id, done);
  }
  if (context.edits.length > 0) for (const pin of context.pins) context.notes.push(`You must ${pin}`);
  return { edits: context.edits, notes: context.notes, converted, added: context.added };
}

