/**
 * Values as symbols, for comparing what two places name: a pushed tag and a
 * pulled reference, an exported tag and an inspected one. Env, shell
 * variables, job and step outputs are followed to their definitions, so
 * `$IMAGE:$TAG` in one job and `${{ env.IMAGE }}:${{ needs.build.outputs.tag }}`
 * in another render alike; what is not followed is kept as `{name}`.
 */
import { contextText, type Expr } from '../expr/syntax.ts';
import type { Flow, Scope } from './dataflow.ts';
import { jobById, type Job } from './workflow.ts';

const MAX_DEPTH = 8;

const RUNNER_VARIABLES: Record<string, string> = {
  GITHUB_SHA: 'github.sha',
  GITHUB_REF: 'github.ref',
  GITHUB_REF_NAME: 'github.ref_name',
  GITHUB_REPOSITORY: 'github.repository',
  GITHUB_RUN_ID: 'github.run_id',
  GITHUB_RUN_NUMBER: 'github.run_number',
};

interface Definition {
  expr: Expr;
  scope: Scope;
}

/** What a context or variable stands for, when it has one definition the model can follow. */
function definitionsOf(flow: Flow, path: readonly string[], scope: Scope): Definition[] | undefined {
  const [root, first, second, third] = path;
  const job = scope.level === 'workflow' ? undefined : scope.job;
  if (root === 'needs' && first !== undefined && second === 'outputs' && third !== undefined) {
    const producer = jobById(flow.workflow, first);
    const output = producer?.outputs.get(third);
    return producer === undefined || output === undefined ? undefined : [{ expr: flow.template(output.value), scope: { level: 'outputs', job: producer } }];
  }
  if (root === 'jobs' && first !== undefined && second === 'outputs' && third !== undefined) {
    const producer = jobById(flow.workflow, first);
    const output = producer?.outputs.get(third);
    return producer === undefined || output === undefined ? undefined : [{ expr: flow.template(output.value), scope: { level: 'outputs', job: producer } }];
  }
  if (root === 'steps' && first !== undefined && second === 'outputs' && third !== undefined && job !== undefined) {
    const step = job.steps.find((s) => s.id?.value === first);
    const script = step === undefined ? undefined : flow.script(job, step);
    if (step === undefined || script === undefined) return undefined;
    return script.writes.filter((w) => w.file === 'output' && w.name === third).map((w) => ({ expr: w.value, scope: { level: 'step', job, step } }));
  }
  if (root === 'env' && first !== undefined) return envDefinitions(flow, first, scope);
  return undefined;
}

function envDefinitions(flow: Flow, name: string, scope: Scope): Definition[] | undefined {
  if (scope.level === 'step') {
    const own = scope.step.env.get(name);
    if (own !== undefined) return [{ expr: flow.template(own.value), scope }];
    const written = scope.job.steps
      .filter((s) => s.index < scope.step.index)
      .flatMap((s) => (flow.script(scope.job, s)?.writes ?? []).filter((w) => w.file === 'env' && w.name === name).map((w) => ({ expr: w.value, scope: { level: 'step' as const, job: scope.job, step: s } })));
    if (written.length > 0) return written;
  }
  if (scope.level !== 'workflow') {
    const own = scope.job.env.get(name);
    if (own !== undefined) return [{ expr: flow.template(own.value), scope: { level: 'job', job: scope.job } }];
  }
  const global = flow.workflow.env.get(name);
  return global === undefined ? undefined : [{ expr: flow.template(global.value), scope: { level: 'workflow' } }];
}

function shellDefinitions(flow: Flow, name: string, scope: Scope): Definition[] | undefined {
  if (scope.level === 'step') {
    const local = flow.script(scope.job, scope.step)?.locals.get(name);
    if (local !== undefined) return [{ expr: local, scope }];
  }
  return envDefinitions(flow, name, scope);
}

/** One rendering of several definitions: the one non-empty one, when they agree. */
function renderDefinitions(flow: Flow, definitions: readonly Definition[], fallback: string, depth: number): string {
  const texts = new Set(definitions.map((d) => render(flow, d.expr, d.scope, depth + 1)).filter((t) => t !== ''));
  const [only] = texts;
  return texts.size === 1 && only !== undefined ? only : `{${fallback}}`;
}

/** The symbolic text of a value where it is read. */
export function render(flow: Flow, expr: Expr, scope: Scope, depth = 0): string {
  if (depth > MAX_DEPTH) return '{…}';
  switch (expr.kind) {
    case 'literal':
      return expr.value === null ? '' : String(expr.value);
    case 'concat':
      return expr.parts.map((part) => render(flow, part, scope, depth)).join('');
    case 'context': {
      const text = contextText(expr.path);
      const definitions = definitionsOf(flow, expr.path, scope);
      return definitions === undefined || definitions.length === 0 ? `{${text}}` : renderDefinitions(flow, definitions, text, depth);
    }
    case 'shellVar': {
      const definitions = shellDefinitions(flow, expr.name, scope);
      if (definitions !== undefined && definitions.length > 0) return renderDefinitions(flow, definitions, `$${expr.name}`, depth);
      const mirrored = RUNNER_VARIABLES[expr.name];
      return mirrored === undefined ? `{$${expr.name}}` : `{${mirrored}}`;
    }
    case 'derived':
      return `{~${render(flow, expr.of, scope, depth + 1)}}`;
    case 'opaque':
      return `{?${expr.key}}`;
    case 'or': {
      // `a || 'fallback'`: the value is a when set.
      const left = render(flow, expr.left, scope, depth + 1);
      return left === '' ? render(flow, expr.right, scope, depth + 1) : left;
    }
    default:
      return '{expr}';
  }
}

/** True when the rendering is fully known text (no `{…}` part). */
export function isKnownText(text: string): boolean {
  return !text.includes('{');
}

/** Visits every context a value reads, following env and shell variables to their definitions. */
function visitContexts(flow: Flow, expr: Expr, scope: Scope, onContext: (path: readonly string[]) => void): void {
  const visit = (node: Expr, at: Scope, level: number): void => {
    if (level > MAX_DEPTH) return;
    switch (node.kind) {
      case 'context': {
        onContext(node.path);
        const [root, first] = node.path;
        if (root === 'env' && first !== undefined) for (const d of envDefinitions(flow, first, at) ?? []) visit(d.expr, d.scope, level + 1);
        break;
      }
      case 'shellVar':
        for (const d of shellDefinitions(flow, node.name, at) ?? []) visit(d.expr, d.scope, level + 1);
        break;
      case 'concat':
        node.parts.forEach((part) => visit(part, at, level));
        break;
      case 'call':
        node.args.forEach((arg) => visit(arg, at, level));
        break;
      case 'derived':
        visit(node.of, at, level);
        break;
      case 'not':
        visit(node.operand, at, level);
        break;
      case 'and':
      case 'or':
      case 'compare':
        visit(node.left, at, level);
        visit(node.right, at, level);
        break;
      default:
        break;
    }
  };
  visit(expr, scope, 0);
}

/** The jobs whose outputs a value reads, through env and shell variables. */
export function jobsRead(flow: Flow, expr: Expr, scope: Scope): Set<Job> {
  const found = new Set<Job>();
  visitContexts(flow, expr, scope, ([root, first]) => {
    const job = (root === 'needs' || root === 'jobs') && first !== undefined ? jobById(flow.workflow, first) : undefined;
    if (job !== undefined) found.add(job);
  });
  return found;
}

/** The job outputs (`needs.<job>.outputs.<name>`) a value reads directly or through env and shell variables. */
export function outputsRead(flow: Flow, expr: Expr, scope: Scope): { job: string; output: string }[] {
  const found: { job: string; output: string }[] = [];
  visitContexts(flow, expr, scope, ([root, first, second, third]) => {
    if (root === 'needs' && first !== undefined && second === 'outputs' && third !== undefined) found.push({ job: first, output: third });
  });
  return found;
}
