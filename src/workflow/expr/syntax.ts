/**
 * GitHub's `${{ }}` expression language as a tree, in the spirit of
 * actionlint's `expr` package: literals, context accesses, function calls and
 * the operators `!`, `<`, `<=`, `>`, `>=`, `==`, `!=`, `&&`, `||`, with
 * parentheses. Shell conditions and written values are translated into the
 * same tree (`concat`, `shellVar`, `opaque`), so one evaluator answers for all.
 */

export type Literal = string | number | boolean | null;

export type Expr =
  | { kind: 'literal'; value: Literal }
  /** `github.event_name`, `needs.build.outputs['ref']`: the path of names; `*` for object filters. */
  | { kind: 'context'; path: string[] }
  | { kind: 'call'; name: string; args: Expr[] }
  | { kind: 'not'; operand: Expr }
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'compare'; op: CompareOp; left: Expr; right: Expr }
  /** An index the model cannot follow (`x[inputs.key]`): its value is unknown. */
  | { kind: 'dynamic' }
  /** Text made of parts: a `${{ }}` template, or a shell word after expansion. */
  | { kind: 'concat'; parts: Expr[] }
  /** `$NAME` in a run script: the step's, job's or workflow's env, or a variable the model does not know. */
  | { kind: 'shellVar'; name: string }
  /** A value derived from another (`${NAME,,}`, `${NAME#v}`): empty exactly when it is. */
  | { kind: 'derived'; of: Expr }
  /** Something the model cannot read (a command's output or success): a free variable of its own. */
  | { kind: 'opaque'; key: string; type: 'bool' | 'string' };

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

export const TRUE: Expr = { kind: 'literal', value: true };
export const FALSE: Expr = { kind: 'literal', value: false };

export function literal(value: Literal): Expr {
  return { kind: 'literal', value };
}

export function and(left: Expr, right: Expr): Expr {
  if (isLiteralTrue(left)) return right;
  if (isLiteralTrue(right)) return left;
  if (isLiteralFalse(left) || isLiteralFalse(right)) return FALSE;
  return { kind: 'and', left, right };
}

export function or(left: Expr, right: Expr): Expr {
  if (isLiteralFalse(left)) return right;
  if (isLiteralFalse(right)) return left;
  if (isLiteralTrue(left) || isLiteralTrue(right)) return TRUE;
  return { kind: 'or', left, right };
}

export function not(operand: Expr): Expr {
  if (isLiteralTrue(operand)) return FALSE;
  if (isLiteralFalse(operand)) return TRUE;
  if (operand.kind === 'not') return operand.operand;
  return { kind: 'not', operand };
}

export function anyOf(items: readonly Expr[]): Expr {
  return items.reduce(or, FALSE);
}

export function isLiteralTrue(expr: Expr): boolean {
  return expr.kind === 'literal' && expr.value === true;
}

export function isLiteralFalse(expr: Expr): boolean {
  return expr.kind === 'literal' && expr.value === false;
}

export function concat(parts: readonly Expr[]): Expr {
  const merged: Expr[] = [];
  for (const part of parts) {
    const last = merged.at(-1);
    if (part.kind === 'literal' && part.value === '') continue;
    if (part.kind === 'literal' && typeof part.value === 'string' && last?.kind === 'literal' && typeof last.value === 'string') {
      merged[merged.length - 1] = literal(last.value + part.value);
    } else merged.push(part);
  }
  if (merged.length === 0) return literal('');
  if (merged.length === 1 && merged[0] !== undefined && isStringValued(merged[0])) return merged[0];
  return { kind: 'concat', parts: merged };
}

function isStringValued(expr: Expr): boolean {
  return (expr.kind === 'literal' && typeof expr.value === 'string') || expr.kind === 'concat';
}

/** The context path as written: `needs.build.outputs.ref`. */
export function contextText(path: readonly string[]): string {
  return path.map((part, index) => (index === 0 ? part : /^[A-Za-z_][A-Za-z0-9_-]*$|^\*$/.test(part) ? `.${part}` : `['${part}']`)).join('');
}

/** A parse failure: the model treats the expression as unknown rather than failing the check. */
export class ExpressionSyntaxError extends Error {
  override name = 'ExpressionSyntaxError';
}

type Token =
  | { type: 'number'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ident'; value: string }
  | { type: 'op'; value: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new ExpressionSyntaxError('unterminated string');
        if (text[i] === "'" && text[i + 1] === "'") {
          value += "'";
          i += 2;
        } else if (text[i] === "'") {
          i++;
          break;
        } else value += text[i++];
      }
      tokens.push({ type: 'string', value });
      continue;
    }
    const two = text.slice(i, i + 2);
    if (['==', '!=', '<=', '>=', '&&', '||'].includes(two)) {
      tokens.push({ type: 'op', value: two });
      i += 2;
      continue;
    }
    if ('!<>()[],.*'.includes(c)) {
      // A number may start with '.', but the grammar only needs it after a digit.
      tokens.push({ type: 'op', value: c });
      i++;
      continue;
    }
    const number = /^(0x[0-9a-fA-F]+|-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?)/.exec(text.slice(i));
    if (number !== null && /[0-9-]/.test(c)) {
      tokens.push({ type: 'number', value: Number(number[0]) });
      i += number[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(text.slice(i));
    if (ident !== null) {
      tokens.push({ type: 'ident', value: ident[0] });
      i += ident[0].length;
      continue;
    }
    throw new ExpressionSyntaxError(`unexpected '${c}'`);
  }
  return tokens;
}

const PRECEDENCE: Record<string, number> = { '||': 1, '&&': 2, '==': 3, '!=': 3, '<': 4, '<=': 4, '>': 4, '>=': 4 };

class Parser {
  private index = 0;
  private readonly tokens: Token[];
  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  parse(): Expr {
    const expr = this.binary(1);
    if (this.index < this.tokens.length) throw new ExpressionSyntaxError('trailing tokens');
    return expr;
  }

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }

  private isOp(value: string): boolean {
    const token = this.peek();
    return token?.type === 'op' && token.value === value;
  }

  private expectOp(value: string): void {
    if (!this.isOp(value)) throw new ExpressionSyntaxError(`expected '${value}'`);
    this.index++;
  }

  private binary(minimum: number): Expr {
    let left = this.unary();
    for (;;) {
      const token = this.peek();
      const precedence = token?.type === 'op' ? PRECEDENCE[token.value] : undefined;
      if (token === undefined || precedence === undefined || precedence < minimum) return left;
      this.index++;
      const right = this.binary(precedence + 1);
      if (token.value === '&&') left = { kind: 'and', left, right };
      else if (token.value === '||') left = { kind: 'or', left, right };
      else left = { kind: 'compare', op: token.value as CompareOp, left, right };
    }
  }

  private unary(): Expr {
    if (this.isOp('!')) {
      this.index++;
      return { kind: 'not', operand: this.unary() };
    }
    return this.postfix(this.primary());
  }

  private primary(): Expr {
    const token = this.peek();
    if (token === undefined) throw new ExpressionSyntaxError('unexpected end');
    this.index++;
    if (token.type === 'number') return literal(token.value);
    if (token.type === 'string') return literal(token.value);
    if (token.type === 'op' && token.value === '(') {
      const inner = this.binary(1);
      this.expectOp(')');
      return inner;
    }
    if (token.type !== 'ident') throw new ExpressionSyntaxError(`unexpected '${token.value}'`);
    const word = token.value;
    if (word === 'true' || word === 'false') return literal(word === 'true');
    if (word === 'null') return literal(null);
    if (this.isOp('(')) {
      this.index++;
      const args: Expr[] = [];
      while (!this.isOp(')')) {
        args.push(this.binary(1));
        if (this.isOp(',')) this.index++;
        else if (!this.isOp(')')) throw new ExpressionSyntaxError("expected ',' or ')'");
      }
      this.index++;
      return { kind: 'call', name: word.toLowerCase(), args };
    }
    return { kind: 'context', path: [word] };
  }

  private postfix(base: Expr): Expr {
    let expr = base;
    for (;;) {
      if (this.isOp('.')) {
        this.index++;
        const token = this.peek();
        this.index++;
        const name = token?.type === 'ident' ? token.value : token?.type === 'op' && token.value === '*' ? '*' : undefined;
        if (name === undefined) throw new ExpressionSyntaxError('expected a property name');
        expr = expr.kind === 'context' ? { kind: 'context', path: [...expr.path, name] } : { kind: 'dynamic' };
      } else if (this.isOp('[')) {
        this.index++;
        const index = this.binary(1);
        this.expectOp(']');
        const key = index.kind === 'literal' ? index.value : undefined;
        expr = expr.kind === 'context' && (typeof key === 'string' || typeof key === 'number') ? { kind: 'context', path: [...expr.path, String(key)] } : { kind: 'dynamic' };
      } else return expr;
    }
  }
}

/** Parses the text of one expression (what stands between `${{` and `}}`). */
export function parseExpression(text: string): Expr {
  return new Parser(tokenize(text)).parse();
}

/** Parses an expression, or gives an opaque value when it is not one the model reads. */
export function parseExpressionOrOpaque(text: string): Expr {
  try {
    return parseExpression(text);
  } catch (error) {
    if (error instanceof ExpressionSyntaxError) return { kind: 'opaque', key: `expr:${text.trim()}`, type: 'string' };
    throw error;
  }
}

/** A string that may hold `${{ }}` parts, as a value: its literal text and its expressions, concatenated. */
export function parseTemplate(value: string): Expr {
  const parts: Expr[] = [];
  let from = 0;
  for (;;) {
    const start = value.indexOf('${{', from);
    if (start === -1) break;
    const close = value.indexOf('}}', start + 3);
    if (close === -1) break;
    parts.push(literal(value.slice(from, start)), parseExpressionOrOpaque(value.slice(start + 3, close)));
    from = close + 2;
  }
  parts.push(literal(value.slice(from)));
  return concat(parts);
}

/**
 * An `if:` value. GitHub evaluates a bare string as an expression; `${{ }}`
 * around the whole of it is optional, and a string with text outside the braces
 * is a non-empty string (always true).
 */
export function parseCondition(value: string): Expr {
  const trimmed = value.trim();
  const whole = /^\$\{\{([\s\S]*)\}\}$/.exec(trimmed);
  if (whole?.[1] !== undefined && !whole[1].includes('}}')) return parseExpressionOrOpaque(whole[1]);
  if (trimmed.includes('${{')) return parseTemplate(trimmed);
  return parseExpressionOrOpaque(trimmed);
}

/** True when the expression calls one of the status functions (which lifts GitHub's implicit `success() &&`). */
export function callsStatusFunction(expr: Expr): boolean {
  switch (expr.kind) {
    case 'call':
      return ['success', 'always', 'failure', 'cancelled'].includes(expr.name) || expr.args.some(callsStatusFunction);
    case 'not':
      return callsStatusFunction(expr.operand);
    case 'and':
    case 'or':
    case 'compare':
      return callsStatusFunction(expr.left) || callsStatusFunction(expr.right);
    case 'concat':
      return expr.parts.some(callsStatusFunction);
    case 'derived':
      return callsStatusFunction(expr.of);
    default:
      return false;
  }
}

/** Writes an expression back as GitHub expression text (for the conditions migrate writes). */
export function formatExpression(expr: Expr): string {
  const wrap = (inner: Expr, parentPrecedence: number): string => {
    const text = formatExpression(inner);
    const precedence = inner.kind === 'or' ? 1 : inner.kind === 'and' ? 2 : inner.kind === 'compare' ? 3 : 9;
    return precedence < parentPrecedence ? `(${text})` : text;
  };
  switch (expr.kind) {
    case 'literal':
      return typeof expr.value === 'string' ? `'${expr.value.replaceAll("'", "''")}'` : String(expr.value);
    case 'context':
      return contextText(expr.path);
    case 'call':
      return `${expr.name}(${expr.args.map(formatExpression).join(', ')})`;
    case 'not':
      return `!${wrap(expr.operand, 9)}`;
    case 'and':
      return `${wrap(expr.left, 2)} && ${wrap(expr.right, 2)}`;
    case 'or':
      return `${wrap(expr.left, 1)} || ${wrap(expr.right, 1)}`;
    case 'compare':
      return `${wrap(expr.left, 4)} ${expr.op} ${wrap(expr.right, 4)}`;
    default:
      throw new Error(`formatExpression: cannot write a ${expr.kind} node as an expression`);
  }
}

/** `a == b` negated as `a != b` (and the reverse); anything else as `!(…)`. */
export function negate(expr: Expr): Expr {
  if (expr.kind === 'compare' && (expr.op === '==' || expr.op === '!=')) return { ...expr, op: expr.op === '==' ? '!=' : '==' };
  return not(expr);
}
