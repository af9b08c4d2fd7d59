/**
 * GitHub's expression semantics over values that may be unknown: loose
 * equality with number coercion and case-insensitive strings, `&&`/`||`
 * returning an operand, truthiness, and the functions that matter for
 * guards and image references. Contexts, shell variables and opaque values
 * are resolved by the caller (the data-flow model).
 */
import type { CompareOp, Expr, Literal } from './syntax.ts';

/** A value that depends on something not yet assigned; its truthiness may still be known. */
export interface Unknown {
  unknown: true;
  truthy?: boolean;
  /** The free variable this value is, when it is one (for the solver's domains). */
  key?: string;
}

export type Value = Literal | Unknown;

export const UNKNOWN: Unknown = { unknown: true };
const UNKNOWN_TRUE: Unknown = { unknown: true, truthy: true };
const UNKNOWN_FALSE: Unknown = { unknown: true, truthy: false };

export function isUnknown(value: Value): value is Unknown {
  return typeof value === 'object' && value !== null;
}

/** true, false, or undefined when not known. */
export function truthy(value: Value): boolean | undefined {
  if (isUnknown(value)) return value.truthy;
  if (value === null || value === false || value === '') return false;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  return true;
}

function toNumber(value: Literal): number {
  if (value === null) return 0;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return value;
  const trimmed = value.trim();
  if (trimmed === '') return 0;
  return /^(0x[0-9a-f]+|[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?)$/i.test(trimmed) ? Number(trimmed) : Number.NaN;
}

export function looseEquals(a: Literal, b: Literal): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  if (typeof a === typeof b) return a === b;
  return toNumber(a) === toNumber(b);
}

function compare(op: CompareOp, a: Value, b: Value, options: EvaluateOptions): Value {
  if (isUnknown(a) || isUnknown(b)) {
    if (options.hint !== undefined) {
      if (isUnknown(a) && a.key !== undefined && !isUnknown(b)) options.hint(a.key, b);
      if (isUnknown(b) && b.key !== undefined && !isUnknown(a)) options.hint(b.key, a);
    }
    return UNKNOWN;
  }
  switch (op) {
    case '==':
      return looseEquals(a, b);
    case '!=':
      return !looseEquals(a, b);
    default: {
      const [x, y] = typeof a === 'string' && typeof b === 'string' ? [a.toLowerCase(), b.toLowerCase()] : [toNumber(a), toNumber(b)];
      if (op === '<') return x < y;
      if (op === '<=') return x <= y;
      if (op === '>') return x > y;
      return x >= y;
    }
  }
}

export function toText(value: Literal): string {
  if (value === null) return '';
  return String(value);
}

function callFunction(name: string, args: Value[]): Value {
  if (args.some(isUnknown)) {
    // format() of a literal format string with a non-empty literal part is non-empty.
    return UNKNOWN;
  }
  const literals = args as Literal[];
  const text = literals.map(toText);
  switch (name) {
    case 'contains':
      return (text[0] ?? '').toLowerCase().includes((text[1] ?? '').toLowerCase());
    case 'startswith':
      return (text[0] ?? '').toLowerCase().startsWith((text[1] ?? '').toLowerCase());
    case 'endswith':
      return (text[0] ?? '').toLowerCase().endsWith((text[1] ?? '').toLowerCase());
    case 'format':
      return (text[0] ?? '').replace(/\{(\d+)\}/g, (_, n: string) => text[Number(n) + 1] ?? '');
    case 'tojson':
      return JSON.stringify(literals[0] ?? null);
    default:
      return UNKNOWN;
  }
}

/** How the caller answers for what the expression reads. */
export interface Resolver {
  context(path: readonly string[]): Value;
  shellVar(name: string): Value;
  opaque(key: string, type: 'bool' | 'string'): Value;
  /** success(), always(), failure(), cancelled(): their meaning depends on where the expression is. */
  status(name: string): Value;
}

export interface EvaluateOptions {
  /** Evaluate both sides of && and || whatever the left gives: for finding every variable an expression reads. */
  exhaustive?: boolean;
  /** Told each literal a free variable is compared with: the values worth trying for it. */
  hint?(key: string, value: Literal): void;
}

export function evaluate(expr: Expr, resolver: Resolver, options: EvaluateOptions = {}): Value {
  const recurse = (inner: Expr): Value => evaluate(inner, resolver, options);
  switch (expr.kind) {
    case 'literal':
      return expr.value;
    case 'context':
      return resolver.context(expr.path);
    case 'shellVar':
      return resolver.shellVar(expr.name);
    case 'opaque':
      return resolver.opaque(expr.key, expr.type);
    case 'dynamic':
      return UNKNOWN;
    case 'derived': {
      const of = recurse(expr.of);
      if (isUnknown(of)) return of.truthy === undefined ? UNKNOWN : of.truthy ? UNKNOWN_TRUE : UNKNOWN;
      return toText(of) === '' ? '' : `${toText(of)}\u0001`;
    }
    case 'concat': {
      if (expr.parts.length === 1 && expr.parts[0] !== undefined) return recurse(expr.parts[0]);
      const values = expr.parts.map((part) => recurse(part));
      if (values.some(isUnknown)) return values.some((v) => truthy(v) === true && (!isUnknown(v) || v.truthy === true)) ? UNKNOWN_TRUE : UNKNOWN;
      return (values as Literal[]).map(toText).join('');
    }
    case 'not': {
      const t = truthy(recurse(expr.operand));
      return t === undefined ? UNKNOWN : !t;
    }
    case 'and': {
      const left = recurse(expr.left);
      const l = truthy(left);
      if (l === false && options.exhaustive !== true) return left;
      const right = recurse(expr.right);
      if (l === false) return left;
      if (l === true) return right;
      const r = truthy(right);
      return r === false ? UNKNOWN_FALSE : UNKNOWN;
    }
    case 'or': {
      const left = recurse(expr.left);
      const l = truthy(left);
      if (l === true && options.exhaustive !== true) return left;
      const right = recurse(expr.right);
      if (l === true) return left;
      if (l === false) return right;
      const r = truthy(right);
      return r === true ? UNKNOWN_TRUE : UNKNOWN;
    }
    case 'compare':
      return compare(expr.op, recurse(expr.left), recurse(expr.right), options);
    case 'call': {
      if (['success', 'always', 'failure', 'cancelled'].includes(expr.name)) return resolver.status(expr.name);
      return callFunction(expr.name, expr.args.map((arg) => recurse(arg)));
    }
  }
}
