/**
 * Plans the text edits that move a registry-pull pipeline onto the handover.
 * Pure: reads the parsed workflow and returns edits; nothing is re-stringified,
 * so every line it does not edit comes out byte for byte.
 */
import { UsageError } from '../../errors.ts';
import { EXPORT_ACTION, LOAD_ACTION, isBuildPushAction } from '../actions.ts';
import { conditionRefs, refsInExpressions } from '../expressions.ts';
import { engineCommands, type HandoverFacts, type ImageBuild, type RegistryPull } from '../handover.ts';
import { isLiteral, repositoryName } from '../image-names.ts';
import { jobById, type Field, type Job, type Step, type Workflow } from '../model.ts';
import { policySteps } from '../push-policy.ts';
import { positionalArgs } from '../shell.ts';
import type { TextEdit } from './apply.ts';
import { renderSteps, yamlScalar, type NewStep, type StepIndent } from './render.ts';
import { blockSpan, columnOf, dashColumn, stepDeletionSpan, stepSpan, usesBlankLines } from './spans.ts';

export type MigrateStyle = 'action' | 'steps';

export interface MigrateOptions {
  style: MigrateStyle;
  /** The tag consumers load; derived from the pipeline when not given. */
  tag?: string;
  /** The artifact name. */
  artifact?: string;
}

export interface MigratePlan {
  edits: TextEdit[];
  /** What was done, one line each, for the summary. */
  notes: string[];
}

const EXPORT_STEP_ID = 'export-image';
const UPLOAD_STEP_ID = 'upload-image';
const DEFAULT_ARTIFACT = 'docker-image';
const BUILD_INPUTS_TO_COPY = ['context', 'file', 'build-args', 'target', 'build-contexts', 'secrets'];

interface Context {
  workflow: Workflow;
  facts: HandoverFacts;
  text: string;
  options: MigrateOptions;
  edits: TextEdit[];
  notes: string[];
}

/** Pulls of an image another job of this workflow built: what migrate replaces. */
function handedOverPulls(facts: HandoverFacts): RegistryPull[] {
  return facts.pulls.filter((p) => facts.consumers.includes(p.job) && p.refs.some((r) => r.context === 'needs' && facts.imageJobs.has(r.id)));
}

function mainBuild(facts: HandoverFacts, producer: Job): ImageBuild {
  const builds = facts.builds.filter((b) => b.job === producer && b.step.uses !== undefined && isBuildPushAction(b.step.uses.value));
  const build = builds.find((b) => b.push !== undefined) ?? builds[0];
  if (build === undefined) {
    throw new UsageError(`Job '${producer.id}' builds the image the consumers pull, but not with docker/build-push-action; migrate knows only that shape.`, {
      hint: 'Migrate this pipeline by hand: docs/check-and-migrate.md shows the steps.',
    });
  }
  return build;
}

/** The tag consumers already give the pulled image (`docker tag $REF charon:local`), else `<repository>:local`. */
function localTag(context: Context, pulls: readonly RegistryPull[], build: ImageBuild): string {
  if (context.options.tag !== undefined) return context.options.tag;
  for (const pull of pulls) {
    for (const command of engineCommands(pull.step).filter((c) => c.verb === 'tag')) {
      const target = positionalArgs(command.args)[1]?.text;
      if (target !== undefined && isLiteral(target)) return target;
    }
  }
  for (const pushed of build.tags.map((t) => t.value)) {
    const repository = repositoryName(withEnv(context.workflow, build.job, pushed).replace(/\$\{\{[^}]*\}\}/g, ''));
    if (/^[a-z0-9][a-z0-9._-]*$/.test(repository)) return `${repository}:local`;
  }
  return 'image:local';
}

/** `${{ env.NAME }}` replaced by the job's or workflow's value, when it is a plain string. */
function withEnv(workflow: Workflow, job: Job, value: string): string {
  return value.replace(/\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g, (whole, name: string) => {
    const defined = job.env.get(name) ?? workflow.env.get(name);
    return defined === undefined || defined.value.includes('${{') ? whole : defined.value;
  });
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

function copiedBuildInputs(context: Context, build: ImageBuild, inputIndent: number): string {
  const pairs = build.step.withNode?.items ?? [];
  let copied = '';
  for (const pair of pairs) {
    const key = pair.key as { value?: unknown; range?: [number, number, number] } | null;
    if (key?.range === undefined || !BUILD_INPUTS_TO_COPY.includes(String(key.value))) continue;
    const column = columnOf(context.text, key.range[0]);
    const [start, end] = blockSpan(context.text, key.range[0], column);
    const shift = inputIndent - column;
    const lines = context.text.slice(start, end).split('\n');
    copied += lines
      .map((line) => (line === '' ? line : shift >= 0 ? ' '.repeat(shift) + line : line.slice(-shift)))
      .join('\n');
  }
  return copied;
}

function exportSteps(context: Context, build: ImageBuild, tag: string, artifact: string, archive: string, inputIndent: number): NewStep[] {
  const buildAction = build.step.uses?.value ?? 'docker/build-push-action@v6';
  const copiedInputs = copiedBuildInputs(context, build, inputIndent);
  const withCopied = copiedInputs === '' ? {} : { copiedInputs };
  if (context.options.style === 'action') {
    return [
      {
        fields: [['name', 'Build image for the handover'], ['uses', buildAction]],
        ...withCopied,
        with: [['platforms', 'linux/amd64'], ['load', true], ['tags', tag], ['cache-from', 'type=gha']],
      },
      {
        fields: [['name', 'Export image for integration jobs'], ['id', EXPORT_STEP_ID], ['uses', EXPORT_ACTION]],
        with: [['images', tag], ['name', artifact], ['retention-days', 1]],
      },
    ];
  }
  return [
    {
      fields: [['name', 'Export image for integration jobs'], ['id', EXPORT_STEP_ID], ['uses', buildAction]],
      ...withCopied,
      with: [['platforms', 'linux/amd64'], ['outputs', `type=docker,dest=${archive}`], ['tags', tag], ['cache-from', 'type=gha']],
    },
    {
      fields: [['name', 'Upload image artifact'], ['id', UPLOAD_STEP_ID], ['uses', 'actions/upload-artifact@v4']],
      with: [['name', artifact], ['path', archive], ['retention-days', 1]],
    },
  ];
}

function loadSteps(context: Context, producer: Job, digestOutput: string, tag: string, artifact: string, archive: string): NewStep[] {
  if (context.options.style === 'action') {
    return [
      {
        fields: [['name', `Load image from ${producer.id}`], ['uses', LOAD_ACTION]],
        with: [['name', artifact], ['expect', `\${{ needs.${producer.id}.outputs.${digestOutput} }}`], ['tags', tag]],
      },
    ];
  }
  const directory = archive.slice(0, archive.lastIndexOf('/')) || '/';
  return [
    { fields: [['name', 'Download image artifact'], ['uses', 'actions/download-artifact@v4']], with: [['name', artifact], ['path', directory]] },
    { fields: [['name', 'Load image'], ['run', `docker load --input ${archive}`]] },
    { fields: [['name', 'Verify image'], ['run', `docker image inspect ${tag}`]] },
  ];
}

/** Job outputs that gate consumers and follow the push policy: they must follow the export instead. */
function gateOutputs(context: Context, producer: Job, consumers: readonly Job[]): Field[] {
  const policy = policySteps(context.facts, producer);
  const gates = new Set<Field>();
  for (const consumer of consumers) {
    for (const ref of conditionRefs(consumer.if?.value ?? '')) {
      if (ref.context !== 'needs' || ref.id !== producer.id || ref.output === undefined) continue;
      const output = producer.outputs.get(ref.output);
      if (output !== undefined && refsInExpressions(output.value).some((r) => r.context === 'steps' && policy.has(r.id))) gates.add(output);
    }
  }
  return [...gates];
}

function migrateProducer(context: Context, producer: Job, consumers: readonly Job[], tag: string, artifact: string, archive: string): string {
  const build = mainBuild(context.facts, producer);
  const indent = stepIndent(context, producer, build.step);
  const inputIndent = indent.dash + 2 + indent.inputs;
  const withStart = build.step.withNode?.range?.[0];
  if (build.cacheTo === undefined && withStart !== undefined) {
    appendToMap(context, withStart, 'cache-to: type=gha,mode=max');
    context.notes.push(`${producer.id}: the main build writes its cache (cache-to: type=gha,mode=max).`);
  }
  const [, buildEnd] = stepSpan(context.text, build.step.offset);
  const blank = blankLinesBetweenSteps(context, producer);
  const steps = renderSteps(exportSteps(context, build, tag, artifact, archive, inputIndent), indent, blank);
  context.edits.push({ start: buildEnd, end: buildEnd, text: `${blank ? '\n' : ''}${steps}` });
  context.notes.push(`${producer.id}: exports ${tag} as artifact '${artifact}' after '${build.step.name?.value ?? 'the build'}'.`);

  const snake = [...producer.outputs.keys()].some((key) => key.includes('_'));
  const digestOutput = snake ? 'image_bundle_digest' : 'image-bundle-digest';
  const gateValue = context.options.style === 'action' ? `\${{ steps.${EXPORT_STEP_ID}.outputs.run-integration }}` : `\${{ steps.${UPLOAD_STEP_ID}.outcome == 'success' }}`;
  for (const gate of gateOutputs(context, producer, consumers)) {
    replaceScalar(context, gate, gateValue);
    context.notes.push(`${producer.id}: output '${String(gate.key.value)}' now follows the export, not the push policy.`);
  }
  if (context.options.style === 'action') {
    const line = `${digestOutput}: \${{ steps.${EXPORT_STEP_ID}.outputs.bundle-digest }}`;
    const outputsStart = producer.outputsNode?.range?.[0];
    if (outputsStart !== undefined && producer.outputs.size > 0) {
      appendToMap(context, outputsStart, line);
    } else {
      const stepsKey = producer.stepsNode?.range?.[0];
      const jobKeyColumn = columnOf(context.text, producer.node.range?.[0] ?? 0);
      const at = stepsKey === undefined ? undefined : context.text.lastIndexOf('\n', context.text.lastIndexOf('steps:', stepsKey)) + 1;
      if (at !== undefined) {
        const pad = ' '.repeat(jobKeyColumn);
        context.edits.push({ start: at, end: at, text: `${pad}outputs:\n${pad}${' '.repeat(indent.inputs)}${line}\n` });
      }
    }
  }
  return digestOutput;
}

function migrateConsumer(context: Context, consumer: Job, producer: Job, pulls: readonly RegistryPull[], steps: NewStep[]): void {
  const replaced = new Set<Step>();
  const blank = blankLinesBetweenSteps(context, consumer);
  const [first, ...others] = [...new Set(pulls.map((p) => p.step))].sort((a, b) => a.index - b.index);
  if (first === undefined) return;
  const [start, end] = stepSpan(context.text, first.offset);
  context.edits.push({ start, end, text: renderSteps(steps, stepIndent(context, consumer, first), blank) });
  replaced.add(first);
  for (const step of others) {
    const [from, to] = stepDeletionSpan(context.text, step.offset);
    context.edits.push({ start: from, end: to, text: '' });
    replaced.add(step);
  }
  for (const login of context.facts.logins.filter((l) => l.job === consumer && !replaced.has(l.step))) {
    const onlyLogin = login.step.uses !== undefined || engineCommands(login.step).every((c) => c.verb === 'login');
    if (!onlyLogin) continue;
    const [from, to] = stepDeletionSpan(context.text, login.step.offset);
    context.edits.push({ start: from, end: to, text: '' });
    replaced.add(login.step);
  }
  context.notes.push(`${consumer.id}: loads the image from '${producer.id}' instead of logging in and pulling.`);
}

export function planMigration(workflow: Workflow, facts: HandoverFacts, options: MigrateOptions): MigratePlan {
  const context: Context = { workflow, facts, text: workflow.file.text, options, edits: [], notes: [] };
  const pulls = handedOverPulls(facts);
  if (pulls.length === 0) return { edits: [], notes: [] };
  const producerId = pulls.flatMap((p) => p.refs).find((r) => r.context === 'needs' && facts.imageJobs.has(r.id))?.id ?? '';
  const producer = jobById(workflow, producerId);
  if (producer === undefined) return { edits: [], notes: [] };
  const consumers = [...new Set(pulls.map((p) => p.job))];
  const build = mainBuild(facts, producer);
  const tag = localTag(context, pulls, build);
  const artifact = options.artifact ?? DEFAULT_ARTIFACT;
  const archive = `/tmp/${repositoryName(tag)}.tar`;
  const digestOutput = migrateProducer(context, producer, consumers, tag, artifact, archive);
  for (const consumer of consumers) {
    const ownPulls = pulls.filter((p) => p.job === consumer);
    migrateConsumer(context, consumer, producer, ownPulls, loadSteps(context, producer, digestOutput, tag, artifact, archive));
  }
  return { edits: context.edits, notes: context.notes };
}
