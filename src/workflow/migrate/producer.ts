/**
 * The producer's side of a migration: the tag consumers get, an upload that
 * already holds the image (reused), or export steps after the main build on
 * the build path, and the new job outputs (never a changed one).
 */
import { EXPORT_ACTION } from '../actions.ts';
import { conditionRefs } from '../expr/references.ts';
import { isLiteral, repositoryName } from '../image-names.ts';
import { sameImage, type Channel, type Receipt } from '../model/channels.ts';
import { artifactName, type ImageBuild, type Located } from '../model/facts.ts';
import { followsPolicy } from '../model/push-policy.ts';
import { render } from '../model/symbols.ts';
import type { Job } from '../model/workflow.ts';
import {
  BUILD_INPUTS_TO_COPY,
  appendToMap,
  blankLinesBetweenSteps,
  copiedBlock,
  inShell,
  inYaml,
  stepIndent,
  type Context,
  type Handover,
  type Tag,
} from './context.ts';
import { renderSteps, type NewStep } from './render.ts';
import { columnOf, dashColumn, stepSpan } from './spans.ts';
import { outputName, stepId, type ActionRef } from './style.ts';

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
export function planProducer(context: Context, producer: Job, receipts: readonly Receipt[], consumers: readonly Job[], artifact: string): Handover | undefined {
  const { facts } = context.model;
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

  if (producer.matrix.size > 0) {
    context.notes.push(`${producer.id}: left as it is — it builds in a matrix, so each leg would upload under one name; export each leg's image under a name of its own by hand.`);
    return undefined;
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
  const ours = (): ActionRef => context.style.ours('export', EXPORT_ACTION);
  const upload = (): ActionRef => context.style.action('actions/upload-artifact');

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
      const exportRef = ours();
      steps.push(
        { fields: [['name', 'Build image for the handover'], ...conditionField, ['uses', buildRef.uses]], ...comments(buildRef), ...copied, with: [['platforms', 'linux/amd64'], ['load', true], ['tags', inYaml(tag)], ['cache-from', 'type=gha']] },
        { fields: [['name', 'Export image for integration jobs'], ['id', exportId], ...conditionField, ['uses', exportRef.uses]], ...comments(exportRef), with: [['images', inYaml(tag)], ['name', artifact], ['retention-days', 1]] },
      );
    } else {
      const uploadRef = upload();
      steps.push(
        { fields: [['name', 'Export image for integration jobs'], ['id', exportId], ...conditionField, ['uses', buildRef.uses]], ...comments(buildRef), ...copied, with: [['platforms', 'linux/amd64'], ['outputs', `type=docker,dest=${archive}`], ['tags', inYaml(tag)], ['cache-from', 'type=gha']] },
        { fields: [['name', 'Upload image artifact'], ['id', uploadId], ...conditionField, ['uses', uploadRef.uses]], ...comments(uploadRef), with: [['name', artifact], ['path', archive], ['retention-days', 1]] },
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
      const exportRef = ours();
      steps.push(
        { fields: [['name', 'Tag image for the handover'], ...conditionField, ['run', `docker tag ${source.raw} ${inShell(tag)}`]], ...env },
        { fields: [['name', 'Export image for integration jobs'], ['id', exportId], ...conditionField, ['uses', exportRef.uses]], ...comments(exportRef), with: [['images', inYaml(tag)], ['name', artifact], ['retention-days', 1]] },
      );
    } else {
      const uploadRef = upload();
      steps.push(
        { fields: [['name', 'Export image for integration jobs'], ['id', exportId], ...conditionField, ['run', `docker tag ${source.raw} ${inShell(tag)}\ndocker save ${inShell(tag)} -o ${archive}\n`]], ...env },
        { fields: [['name', 'Upload image artifact'], ['id', uploadId], ...conditionField, ['uses', uploadRef.uses]], ...comments(uploadRef), with: [['name', artifact], ['path', archive], ['retention-days', 1]] },
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

