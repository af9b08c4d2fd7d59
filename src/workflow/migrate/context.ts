/**
 * The planning context and the text edits migrate makes on a workflow: append
 * to a mapping, replace a scalar keeping its quoting, add or narrow a step's
 * `if:`, copy a block of lines at another indentation. Edits are on the
 * original text, so every line they do not touch comes out byte for byte.
 */
import { formatExpression, negate, parseCondition } from '../expr/syntax.ts';
import type { WorkflowModel } from '../model/index.ts';
import type { Field, Job, Step } from '../model/workflow.ts';
import type { TextEdit } from './apply.ts';
import type { AddedStep, MigrateOptions } from './options.ts';
import { yamlScalar, type StepIndent } from './render.ts';
import { blockSpan, columnOf, dashColumn, stepSpan, usesBlankLines } from './spans.ts';
import type { FileStyle } from './style.ts';

export const DEFAULT_ARTIFACT = 'docker-image';
export const BUILD_INPUTS_TO_COPY = ['context', 'file', 'build-args', 'target', 'build-contexts', 'secrets', 'ssh'];
/** Commands a pull step may hold for migrate to replace it whole. */
export const PULL_STEP_VERBS = new Set(['pull', 'tag', 'login', 'inspect', 'images']);

/** The tag consumers get: a literal, and the env variable that holds it when the workflow keeps it in one. */
export interface Tag {
  literal: string;
  env: string | undefined;
}

export const inYaml = (tag: Tag): string => (tag.env === undefined ? tag.literal : `\${{ env.${tag.env} }}`);
export const inShell = (tag: Tag): string => (tag.env === undefined ? tag.literal : `"$${tag.env}"`);
export const inString = (tag: Tag): string => (tag.env === undefined ? tag.literal : `\${${tag.env}}`);

/** How the consumers get the image once migrated. */
export interface Handover {
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

export interface Context {
  model: WorkflowModel;
  text: string;
  options: MigrateOptions;
  style: FileStyle;
  edits: TextEdit[];
  notes: string[];
  added: AddedStep[];
}

/** `a && b`, parenthesising a side that holds `||`. */
export function both(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined || a.trim() === '') return b;
  if (b === undefined || b.trim() === '') return a;
  const wrap = (c: string): string => {
    const bare = c.trim().replace(/^\$\{\{([\s\S]*)\}\}$/, '$1').trim();
    return bare.includes('||') ? `(${bare})` : bare;
  };
  return `${wrap(a)} && ${wrap(b)}`;
}

export function negated(condition: string): string {
  try {
    return formatExpression(negate(parseCondition(condition)));
  } catch {
    return `!(${condition.trim().replace(/^\$\{\{([\s\S]*)\}\}$/, '$1').trim()})`;
  }
}

export function stepIndent(context: Context, job: Job, step: Step): StepIndent {
  const withStart = job.steps.map((s) => s.withNode?.range?.[0]).find((o) => o !== undefined);
  const keyColumn = columnOf(context.text, step.offset);
  const inputs = withStart === undefined ? 2 : columnOf(context.text, withStart) - keyColumn;
  return { dash: dashColumn(context.text, step.offset), inputs: inputs > 0 ? inputs : 2 };
}

export function blankLinesBetweenSteps(context: Context, job: Job): boolean {
  return usesBlankLines(context.text, job.steps.map((s) => s.offset));
}

/** Adds `key: value` as the last entry of a block mapping. */
export function appendToMap(context: Context, firstKeyOffset: number, line: string): void {
  const column = columnOf(context.text, firstKeyOffset);
  const [, end] = blockSpan(context.text, firstKeyOffset, column - 1);
  context.edits.push({ start: end, end, text: `${' '.repeat(column)}${line}\n` });
}

export function replaceScalar(context: Context, field: Field, value: string): void {
  const [start, end] = field.node.range ?? [0, 0];
  const quoted =
    field.node.type === 'QUOTE_DOUBLE' ? JSON.stringify(value) : field.node.type === 'QUOTE_SINGLE' ? `'${value.replaceAll("'", "''")}'` : yamlScalar(value);
  context.edits.push({ start, end, text: quoted });
}

/** Sets a step's `if:` (replacing it, or adding it as the step's last key). */
export function setCondition(context: Context, step: Step, condition: string): void {
  if (step.if !== undefined) {
    replaceScalar(context, step.if, condition);
    return;
  }
  const [, end] = stepSpan(context.text, step.offset);
  const key = ' '.repeat(dashColumn(context.text, step.offset) + 2);
  context.edits.push({ start: end, end, text: `${key}if: ${yamlScalar(condition)}\n` });
}

export function copiedBlock(context: Context, map: { items: unknown[] } | undefined, names: readonly string[] | undefined, indent: number): string {
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
