/**
 * The data flow of one workflow: where every value a guard or an image
 * reference reads comes from. Job outputs lead to step outputs, step outputs
 * to what the step's script writes to `$GITHUB_OUTPUT` (under which shell
 * conditions), env to the step's, the `$GITHUB_ENV` writes before it, the
 * job's and the workflow's; `if:` conditions decide whether a step ran and so
 * whether its outputs exist. What the model cannot know — the event, inputs,
 * matrix values, a command's success — is a free variable; the solver tries
 * values for those.
 */
import { evaluate, isUnknown, truthy, type Resolver, type Unknown, type Value } from '../expr/evaluate.ts';
import { TRUE, callsStatusFunction, contextText, parseCondition, parseTemplate, type Expr, type Literal } from '../expr/syntax.ts';
import { readScript, type Script } from '../shell/script.ts';
import { fileWrites, type FileWrite } from '../shell/writes.ts';
import { wordExpr } from '../shell/words.ts';
import { knownActionOutput, scriptInputs } from '../actions.ts';
import { jobById, type Field, type Job, type Step, type Workflow } from './workflow.ts';

/** Where an expression is evaluated: what `steps`, `env` and the status functions mean there. */
export type Scope =
  | { level: 'workflow' }
  | { level: 'job'; job: Job }
  | { level: 'step'; job: Job; step: Step }
  | { level: 'outputs'; job: Job };

export function stepScope(job: Job, step: Step): Scope {
  return { level: 'step', job, step };
}

export type VariableType = 'string' | 'bool' | 'result' | 'nonEmpty';

export interface Variable {
  key: string;
  type: VariableType;
  /** Values listed for it (a matrix, a choice input's options). */
  values?: string[];
}

/** Contexts that are never empty in a run. */
const NON_EMPTY = /^(github\.(sha|repository|repository_owner|run_id|run_number|run_attempt|actor|triggering_actor|workflow|event_name|ref|ref_name|server_url|api_url|workspace|job|token|action)|runner\.[a-z_]+)$/;

/** Shell variables the runner sets, read as the contexts they mirror. */
const RUNNER_VARIABLES: Record<string, string[]> = {
  GITHUB_SHA: ['github', 'sha'],
  GITHUB_REF: ['github', 'ref'],
  GITHUB_REF_NAME: ['github', 'ref_name'],
  GITHUB_REPOSITORY: ['github', 'repository'],
  GITHUB_REPOSITORY_OWNER: ['github', 'repository_owner'],
  GITHUB_ACTOR: ['github', 'actor'],
  GITHUB_EVENT_NAME: ['github', 'event_name'],
  GITHUB_RUN_ID: ['github', 'run_id'],
  GITHUB_RUN_NUMBER: ['github', 'run_number'],
  GITHUB_WORKSPACE: ['github', 'workspace'],
  GITHUB_HEAD_REF: ['github', 'head_ref'],
  GITHUB_BASE_REF: ['github', 'base_ref'],
  RUNNER_TEMP: ['runner', 'temp'],
  RUNNER_OS: ['runner', 'os'],
};

const OTHER_PREFIX = '\u0000';
const SUCCESS: Expr = { kind: 'call', name: 'success', args: [] };

/** The script of a step: its `run:`, or the command a wrapper action runs. */
export interface StepScript {
  field: Field;
  script: Script;
  writes: FileWrite[];
  /** `NAME=value` and `export NAME=value` in the script. */
  locals: Map<string, Expr>;
}

/** The parsed workflow with its scripts read once. */
export class Flow {
  private readonly scripts = new Map<Step, StepScript | undefined>();
  private readonly templates = new Map<string, Expr>();
  readonly variables = new Map<string, Variable>();
  readonly workflow: Workflow;

  constructor(workflow: Workflow) {
    this.workflow = workflow;
  }

  script(job: Job, step: Step): StepScript | undefined {
    if (this.scripts.has(step)) return this.scripts.get(step);
    let field = step.run;
    if (field === undefined && step.uses !== undefined) field = scriptInputs(step).at(0);
    let result: StepScript | undefined;
    if (field !== undefined) {
      const script = readScript(field.value, `${job.id}/${step.index}`);
      const locals = new Map<string, Expr>();
      for (const command of script.commands) {
        const words = command.words[0]?.text === 'export' ? command.words.slice(1) : command.words;
        for (const word of words) {
          const match = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(word.raw);
          if (match?.[1] === undefined || locals.has(match[1]) || words.length > 1 && word !== words[0]) continue;
          locals.set(match[1], wordExpr({ text: word.text.slice(match[0].length), raw: word.raw.slice(match[0].length) }));
        }
      }
      result = { field, script, writes: fileWrites(script), locals };
    }
    this.scripts.set(step, result);
    return result;
  }

  /** A field's value as a template, parsed once. */
  template(text: string): Expr {
    let parsed = this.templates.get(text);
    if (parsed === undefined) {
      parsed = parseTemplate(text);
      this.templates.set(text, parsed);
    }
    return parsed;
  }

  condition(text: string): Expr {
    const key = `if\u0000${text}`;
    let parsed = this.templates.get(key);
    if (parsed === undefined) {
      parsed = parseCondition(text);
      this.templates.set(key, parsed);
    }
    return parsed;
  }

  declare(key: string, type: VariableType, values?: string[]): Variable {
    let variable = this.variables.get(key);
    if (variable === undefined) {
      variable = values === undefined ? { key, type } : { key, type, values };
      this.variables.set(key, variable);
    }
    return variable;
  }

  /** The condition under which the job runs (its `if:`, with GitHub's implicit `success()`). */
  jobCondition(job: Job): Expr {
    return this.guarded(job.if?.value);
  }

  /** The condition under which a step runs, given that its job runs. */
  stepCondition(step: Step): Expr {
    return this.guarded(step.if?.value);
  }

  private guarded(text: string | undefined): Expr {
    const key = `guard\u0000${text ?? ''}`;
    let guard = this.templates.get(key);
    if (guard === undefined) {
      const parsed = text === undefined ? undefined : this.condition(text);
      guard = parsed !== undefined && callsStatusFunction(parsed) ? parsed : { kind: 'and', left: SUCCESS, right: parsed ?? TRUE };
      this.templates.set(key, guard);
    }
    return guard;
  }

  /** Answers already given, by the identity of their clauses (rules ask the same of many steps). */
  readonly answers = new Map<string, unknown>();
  private readonly ids = new WeakMap<object, number>();
  private nextId = 1;

  /** A stable id for an expression object, for keying answers. */
  idOf(expr: object): number {
    const known = this.ids.get(expr);
    if (known !== undefined) return known;
    const id = this.nextId++;
    this.ids.set(expr, id);
    return id;
  }
}

export function scopeKey(scope: Scope): string {
  switch (scope.level) {
    case 'workflow':
      return 'w';
    case 'job':
      return `j:${scope.job.id}`;
    case 'outputs':
      return `o:${scope.job.id}`;
    case 'step':
      return `s:${scope.job.id}:${scope.step.index}`;
  }
}

/** Outputs and env values are strings: `${{ a == b }}` gives 'true'. */
function asString(value: Value): Value {
  if (isUnknown(value) || typeof value === 'string') return value;
  return value === null ? '' : String(value);
}

const IN_PROGRESS: Unknown = { unknown: true };
/** Memoized "no such variable" (env lookups). */
const MISSING: Unknown = { unknown: true };

/**
 * One evaluation under one assignment of the free variables. Unassigned
 * variables are unknown (and listed in `requested`); in discovery mode every
 * branch is followed and each literal a variable is compared with is noted.
 */
export class Evaluation {
  readonly requested: string[] = [];
  readonly hints = new Map<string, Set<Literal>>();
  /** The assignment describes no possible run (a job that both succeeded and failed). */
  infeasible = false;
  private readonly memo = new Map<string, Value>();
  private readonly flow: Flow;
  private readonly assignment: ReadonlyMap<string, Literal>;
  private readonly discover: boolean;

  constructor(flow: Flow, assignment: ReadonlyMap<string, Literal>, discover = false) {
    this.flow = flow;
    this.assignment = assignment;
    this.discover = discover;
  }

  value(expr: Expr, scope: Scope): Value {
    const resolver: Resolver = {
      context: (path) => this.context(path, scope),
      shellVar: (name) => this.shellVar(name, scope),
      // A command's output is taken as set: an image reference read from one is not reported as empty.
      opaque: (key, type) => this.variable(`opaque:${key}`, type === 'bool' ? 'bool' : 'nonEmpty'),
      status: (name) => this.status(name, scope),
    };
    if (!this.discover) return evaluate(expr, resolver);
    return evaluate(expr, resolver, {
      exhaustive: true,
      hint: (key, value) => {
        let set = this.hints.get(key);
        if (set === undefined) this.hints.set(key, (set = new Set()));
        set.add(value);
      },
    });
  }

  private memoized(key: string, compute: () => Value): Value {
    const known = this.memo.get(key);
    if (known !== undefined) return known === IN_PROGRESS ? { unknown: true } : known;
    this.memo.set(key, IN_PROGRESS);
    const value = compute();
    this.memo.set(key, value);
    return value;
  }

  private variable(key: string, type: VariableType, values?: string[]): Value {
    this.flow.declare(key, type, values);
    const assigned = this.assignment.get(key);
    if (assigned !== undefined) return assigned;
    if (!this.requested.includes(key)) this.requested.push(key);
    return { unknown: true, key, ...(type === 'nonEmpty' ? { truthy: true } : {}) };
  }

  private status(name: string, scope: Scope): Value {
    if (name === 'always') return true;
    if (name === 'cancelled') return this.variable('cancelled', 'bool');
    if (scope.level === 'job') {
      const results = scope.job.needs.map((id) => this.variable(`needs.${id}.result`, 'result'));
      return this.combine(results, name === 'success' ? (r) => r === 'success' : (r) => r === 'failure', name === 'success');
    }
    if (scope.level === 'step') {
      const earlier = scope.job.steps.filter((s) => s.index < scope.step.index && !s.continueOnError);
      const failed = earlier.map((s) => this.failed(scope.job, s));
      return name === 'success' ? this.combine(failed, (f) => f === false, true) : this.combine(failed, (f) => f === true, false);
    }
    return true;
  }

  /** all(test) when `all`, else any(test), over values that may be unknown. */
  private combine(values: Value[], test: (value: Literal) => boolean, all: boolean): Value {
    let unknown = false;
    for (const value of values) {
      if (isUnknown(value)) {
        unknown = true;
        continue;
      }
      const holds = test(value);
      if (all !== holds) return !all;
    }
    return unknown ? { unknown: true } : all;
  }

  /** Did the step run? Undefined when it depends on something unassigned. */
  ran(job: Job, step: Step): Value {
    return this.memoized(`ran:${job.id}:${step.index}`, () => {
      const value = this.value(this.flow.stepCondition(step), stepScope(job, step));
      const t = truthy(value);
      return t === undefined ? { unknown: true } : t;
    });
  }

  /** Did the step fail (a non-zero exit its script reaches)? */
  failed(job: Job, step: Step): Value {
    return this.memoized(`failed:${job.id}:${step.index}`, () => {
      const script = this.flow.script(job, step);
      if (script === undefined || script.script.failsWhen.kind === 'literal') return false;
      const ran = this.ran(job, step);
      const fails = truthy(this.value(script.script.failsWhen, stepScope(job, step)));
      if (ran === false || fails === false) return false;
      if (ran === true && fails === true) return true;
      return { unknown: true };
    });
  }

  /** Did the job run? (Its own condition; the caller decides about its needs.) */
  jobRuns(job: Job): Value {
    return this.memoized(`runs:${job.id}`, () => {
      const t = truthy(this.value(this.flow.jobCondition(job), { level: 'job', job }));
      return t === undefined ? { unknown: true } : t;
    });
  }

  private anyStepFailed(job: Job): Value {
    return this.combine(
      job.steps.filter((s) => !s.continueOnError).map((s) => this.failed(job, s)),
      (f) => f === true,
      false,
    );
  }

  stepOutput(job: Job, step: Step, name: string): Value {
    return this.memoized(`out:${job.id}:${step.index}:${name}`, () => {
      const ran = this.ran(job, step);
      if (ran === false && !this.discover) return '';
      const script = this.flow.script(job, step);
      const scope = stepScope(job, step);
      let result: Value;
      if (script !== undefined) result = this.lastWrite(script.writes.filter((w) => w.file === 'output' && w.name === name), scope) ?? '';
      else {
        const known = step.uses === undefined ? undefined : knownActionOutput(step.uses.value, name);
        result = known ?? this.variable(`step:${job.id}/${step.index}.${name}`, 'nonEmpty');
      }
      if (ran === false) return '';
      if (isUnknown(ran)) return { unknown: true };
      return result;
    });
  }

  /** The value of the last write whose condition holds; undefined when none does. */
  private lastWrite(writes: readonly FileWrite[], scope: Scope): Value | undefined {
    let result: Value | undefined;
    for (let i = writes.length - 1; i >= 0; i--) {
      const write = writes[i];
      if (write === undefined) continue;
      if (result !== undefined && !this.discover) break;
      const holds = truthy(this.value(write.path, scope));
      const value = this.value(write.value, scope);
      if (result !== undefined) continue;
      // A write whose condition is not known yet hides which value is last.
      if (holds === true) result = value;
      else if (holds === undefined) result = { unknown: true };
    }
    return result;
  }

  jobOutput(job: Job, name: string): Value {
    const output = job.outputs.get(name);
    if (output === undefined) return this.variable(`job:${job.id}.${name}`, 'string');
    return this.memoized(`jobout:${job.id}:${name}`, () => asString(this.value(this.flow.template(output.value), { level: 'outputs', job })));
  }

  private needsOutput(id: string, name: string): Value {
    const job = jobById(this.flow.workflow, id);
    if (job === undefined || job.calls !== undefined) return this.variable(`needs.${id}.outputs.${name}`, 'string');
    const result = this.variable(`needs.${id}.result`, 'result');
    if (!this.discover && result !== 'success') return isUnknown(result) ? { unknown: true } : '';
    // A job that succeeded ran, and none of its steps failed.
    const runs = this.jobRuns(job);
    const failed = this.anyStepFailed(job);
    if (runs === false || failed === true) this.infeasible = !this.discover;
    return this.jobOutput(job, name);
  }

  private context(path: readonly string[], scope: Scope): Value {
    const [root, first, second, third] = path;
    const job = scope.level === 'workflow' ? undefined : scope.job;
    if (root === 'needs' && first !== undefined) {
      if (second === 'result') return this.variable(`needs.${first}.result`, 'result');
      if (second === 'outputs' && third !== undefined) return this.needsOutput(first, third);
    }
    if (root === 'jobs' && first !== undefined && second === 'outputs' && third !== undefined) {
      const target = jobById(this.flow.workflow, first);
      if (target !== undefined) return this.jobOutput(target, third);
    }
    if (root === 'steps' && first !== undefined && job !== undefined && scope.level !== 'job') {
      const limit = scope.level === 'step' ? scope.step.index : job.steps.length;
      const step = job.steps.find((s) => s.id?.value === first && s.index < limit);
      if (step !== undefined) {
        if (second === 'outputs' && third !== undefined) return this.stepOutput(job, step, third);
        if (second === 'outcome' || second === 'conclusion') {
          const ran = this.ran(job, step);
          if (isUnknown(ran)) return { unknown: true };
          if (ran === false) return 'skipped';
          const failed = this.failed(job, step);
          if (isUnknown(failed)) return { unknown: true };
          return failed === true && !(second === 'conclusion' && step.continueOnError) ? 'failure' : 'success';
        }
      }
    }
    if (root === 'env' && first !== undefined) return this.env(first, scope) ?? '';
    if (root === 'matrix' && first !== undefined && job !== undefined) {
      const values = job.matrix.get(first);
      return this.variable(`matrix:${job.id}.${first}`, 'string', values);
    }
    if (root === 'inputs' && first !== undefined) {
      const input = this.flow.workflow.inputs.get(first);
      if (input?.type === 'boolean') return this.variable(`inputs.${first}`, 'bool');
      return this.variable(`inputs.${first}`, 'string', input !== undefined && input.options.length > 0 ? input.options : undefined);
    }
    const text = contextText(path);
    return this.variable(text, NON_EMPTY.test(text) ? 'nonEmpty' : 'string');
  }

  /** `env.NAME` where it is read: the step's env, then `$GITHUB_ENV` writes before the step, then the job's and the workflow's. */
  private env(name: string, scope: Scope): Value | undefined {
    const value = this.memoized(`env:${scopeKey(scope)}:${name}`, () => {
      if (scope.level === 'step') {
        const own = scope.step.env.get(name);
        if (own !== undefined) return asString(this.value(this.flow.template(own.value), scope));
        for (let i = scope.step.index - 1; i >= 0; i--) {
          const earlier = scope.job.steps[i];
          const script = earlier === undefined ? undefined : this.flow.script(scope.job, earlier);
          const writes = script?.writes.filter((w) => w.file === 'env' && w.name === name) ?? [];
          if (earlier === undefined || writes.length === 0) continue;
          const ran = this.ran(scope.job, earlier);
          const written = this.lastWrite(writes, stepScope(scope.job, earlier));
          if (ran === true && written !== undefined) return written;
          if (isUnknown(ran) || (written !== undefined && isUnknown(written))) return { unknown: true };
        }
      }
      if (scope.level !== 'workflow') {
        const own = scope.job.env.get(name);
        if (own !== undefined) return asString(this.value(this.flow.template(own.value), { level: 'job', job: scope.job }));
      }
      const global = this.flow.workflow.env.get(name);
      if (global !== undefined) return asString(this.value(this.flow.template(global.value), { level: 'workflow' }));
      return MISSING;
    });
    return value === MISSING ? undefined : value;
  }

  private shellVar(name: string, scope: Scope): Value {
    if (scope.level === 'step') {
      const local = this.flow.script(scope.job, scope.step)?.locals.get(name);
      if (local !== undefined) return this.value(local, scope);
    }
    const fromEnv = this.env(name, scope);
    if (fromEnv !== undefined) return fromEnv;
    const mirrored = RUNNER_VARIABLES[name];
    if (mirrored !== undefined) return this.context(mirrored, scope);
    // A variable the workflow does not define is set by something the model does not see (a sourced file, the runner).
    return this.variable(`shell:${name}`, 'nonEmpty');
  }
}

/** The values worth trying for a variable: its listed values, or those it is compared with, empty, and one other. */
export function domain(variable: Variable, hints: ReadonlySet<Literal> | undefined): Literal[] {
  if (variable.type === 'bool') return [true, false];
  if (variable.type === 'result') return ['success', 'failure', 'skipped', 'cancelled'];
  if (variable.values !== undefined && variable.values.length > 0) return [...new Set(variable.values)];
  const values: Literal[] = [];
  const seen = new Set<string>();
  const add = (value: Literal): void => {
    const key = typeof value === 'string' ? `s:${value.toLowerCase()}` : `${typeof value}:${String(value)}`;
    if (seen.has(key)) return;
    seen.add(key);
    values.push(value);
  };
  for (const value of hints ?? []) if (!(variable.type === 'nonEmpty' && (value === '' || value === null))) add(value);
  if (variable.type !== 'nonEmpty') add('');
  add(`${OTHER_PREFIX}${variable.key}`);
  return values;
}

