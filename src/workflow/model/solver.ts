/**
 * Can a condition hold? The model's conditions are over a handful of free
 * variables (the event, inputs, a job's result, a command's success), so the
 * solver tries the values that matter for each — those it is compared with,
 * empty, one other — depth first, and prunes as soon as a partial assignment
 * already decides the condition.
 */
import { truthy } from '../expr/evaluate.ts';
import type { Expr, Literal } from '../expr/syntax.ts';
import { Evaluation, domain, scopeKey, type Flow, type Scope } from './dataflow.ts';

/** A conjunct of a query: an expression and where it is evaluated. */
export interface Clause {
  expr: Expr;
  scope: Scope;
}

export interface Answer {
  /** true: some run makes every clause true; false: none does; undefined: too many cases to tell. */
  satisfiable: boolean | undefined;
  /** The values that make it so, when satisfiable. */
  witness?: ReadonlyMap<string, Literal>;
  /** The values each variable is compared with (to say what "another value" is not). */
  hints?: ReadonlyMap<string, ReadonlySet<Literal>>;
}

/** Assignments tried before giving up: far more than real guards need. */
const BUDGET = 4000;

function holds(flow: Flow, clauses: readonly Clause[], assignment: ReadonlyMap<string, Literal>): { truth: boolean | undefined; next: string | undefined; infeasible: boolean } {
  const evaluation = new Evaluation(flow, assignment);
  let truth: boolean | undefined = true;
  for (const clause of clauses) {
    const value = truthy(evaluation.value(clause.expr, clause.scope));
    if (value === false) return { truth: false, next: undefined, infeasible: evaluation.infeasible };
    if (value === undefined) truth = undefined;
  }
  return { truth, next: evaluation.requested[0], infeasible: evaluation.infeasible };
}

export function solve(flow: Flow, clauses: readonly Clause[]): Answer {
  const key = clauses.map((c) => `${flow.idOf(c.expr)}@${scopeKey(c.scope)}`).join('&');
  const known = flow.answers.get(key) as Answer | undefined;
  if (known !== undefined) return known;
  const answer = search(flow, clauses);
  flow.answers.set(key, answer);
  return answer;
}

function search(flow: Flow, clauses: readonly Clause[]): Answer {
  const discovery = new Evaluation(flow, new Map(), true);
  for (const clause of clauses) discovery.value(clause.expr, clause.scope);
  let budget = BUDGET;
  const step = (assignment: Map<string, Literal>): Answer | undefined => {
    if (budget-- <= 0) return { satisfiable: undefined };
    const { truth, next, infeasible } = holds(flow, clauses, assignment);
    if (infeasible || truth === false) return undefined;
    if (truth === true) return { satisfiable: true, witness: new Map(assignment) };
    const key = next ?? discovery.requested.find((k) => !assignment.has(k));
    const variable = key === undefined ? undefined : flow.variables.get(key);
    if (key === undefined || variable === undefined) return { satisfiable: undefined };
    for (const value of domain(variable, discovery.hints.get(key))) {
      assignment.set(key, value);
      const found = step(assignment);
      assignment.delete(key);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const answer = step(new Map()) ?? { satisfiable: false };
  return { ...answer, hints: discovery.hints };
}

/** True only when the clauses can all hold (an undecided answer counts as no). */
export function canHold(flow: Flow, clauses: readonly Clause[]): boolean {
  return solve(flow, clauses).satisfiable === true;
}

/** True only when the clauses cannot all hold (an undecided answer counts as no). */
export function cannotHold(flow: Flow, clauses: readonly Clause[]): boolean {
  return solve(flow, clauses).satisfiable === false;
}
