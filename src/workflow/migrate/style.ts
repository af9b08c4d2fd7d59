/**
 * The file's own style, so what migrate adds looks like what is there: how
 * actions are pinned (commit SHA or tag) and which majors are in use, how job
 * outputs are named (snake_case or kebab-case), and which step ids are taken.
 */
import { actionName } from '../actions.ts';
import type { Job, Workflow } from '../model/workflow.ts';

export interface ActionRef {
  /** The `uses:` value. */
  uses: string;
  /** A trailing comment to write after it (`# v6.0.0` beside a SHA pin). */
  comment: string | undefined;
}

interface InUse {
  uses: string;
  comment: string | undefined;
}

/** Actions migrate may add, with the major it writes when the file uses none. */
const DEFAULT_REFS: Record<string, string> = {
  'actions/upload-artifact': 'v4',
  'actions/download-artifact': 'v4',
  'docker/build-push-action': 'v6',
  'docker/setup-buildx-action': 'v3',
};

/** Upload and download artifact majors go together (v4 and later share the artifact service). */
const PAIRED: Record<string, string> = {
  'actions/upload-artifact': 'actions/download-artifact',
  'actions/download-artifact': 'actions/upload-artifact',
};

const SHA = /@[0-9a-f]{40}$/i;

export class FileStyle {
  private readonly used = new Map<string, InUse>();
  /** Every remote action in the file is pinned by commit SHA. */
  readonly pinsBySha: boolean;

  constructor(workflow: Workflow) {
    let remote = 0;
    let pinned = 0;
    for (const job of workflow.jobs) {
      for (const step of job.steps) {
        const uses = step.uses;
        if (uses === undefined) continue;
        const value = uses.value.trim();
        if (!value.startsWith('./') && !value.startsWith('docker://')) {
          remote++;
          if (SHA.test(value)) pinned++;
        }
        const end = uses.node.range?.[1] ?? 0;
        const lineEnd = workflow.file.text.indexOf('\n', end);
        const rest = workflow.file.text.slice(end, lineEnd === -1 ? undefined : lineEnd);
        const comment = /^\s*#\s*(.+?)\s*$/.exec(rest)?.[1];
        const name = actionName(value);
        if (!this.used.has(name)) this.used.set(name, { uses: value, comment });
      }
    }
    this.pinsBySha = remote > 0 && pinned === remote;
  }

  /** The `uses:` for an action: the file's own reference when it has one, else one of the major it pairs with, else the default. */
  action(name: string, fallback?: string): ActionRef {
    const known = this.used.get(name);
    if (known !== undefined) return { uses: known.uses, comment: known.comment };
    const partner = PAIRED[name] === undefined ? undefined : this.used.get(PAIRED[name]);
    const major = partner === undefined ? undefined : majorOf(partner);
    const uses = fallback ?? `${name}@${major ?? DEFAULT_REFS[name] ?? 'v1'}`;
    return { uses, comment: undefined };
  }

  /** Our action: a local `./export` or `./load` when the file already uses ours that way, else the published one. */
  ours(which: 'export' | 'load', published: string): ActionRef {
    for (const [name, use] of this.used) {
      if (name === `./${which}` || name.endsWith(`/image-handover/${which}`)) return { uses: use.uses, comment: use.comment };
    }
    const sibling = [...this.used.entries()].find(([name]) => name === `./${which === 'export' ? 'load' : 'export'}`);
    if (sibling !== undefined) return { uses: `./${which}`, comment: undefined };
    return { uses: published, comment: undefined };
  }

  /** What to tell the user about a `uses:` migrate wrote: pin it, when the file pins every other action. */
  noteFor(uses: string): string | undefined {
    if (!this.pinsBySha || SHA.test(uses) || uses.startsWith('./')) return undefined;
    return `pin ${uses} to a commit SHA, as this file pins every other action (e.g. ${actionName(uses)}@<sha> # ${uses.replace(/^.*@/, '')}).`;
  }
}

function majorOf(use: InUse): string | undefined {
  const tag = SHA.test(use.uses) ? use.comment : use.uses.replace(/^.*@/, '');
  const major = /^v?(\d+)/.exec(tag ?? '')?.[1];
  return major === undefined ? undefined : `v${major}`;
}

/** snake_case when the job's outputs use underscores, else kebab-case. */
export function outputName(job: Job, words: readonly string[]): string {
  const snake = [...job.outputs.keys()].some((key) => key.includes('_'));
  const base = words.join(snake ? '_' : '-');
  let name = base;
  for (let n = 2; job.outputs.has(name); n++) name = `${base}${snake ? '_' : '-'}${n}`;
  return name;
}

/** A step id not yet taken in the job. */
export function stepId(job: Job, base: string, taken: Set<string> = new Set()): string {
  const ids = new Set([...job.steps.map((s) => s.id?.value).filter((id): id is string => id !== undefined), ...taken]);
  let id = base;
  for (let n = 2; ids.has(id); n++) id = `${base}-${n}`;
  taken.add(id);
  return id;
}
