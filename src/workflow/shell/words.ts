/**
 * Shell words and test commands in the terms of the expression language:
 * `"$IMAGE:${{ github.sha }}"` becomes a concatenation of a shell variable, a
 * literal and a context; `[ "$EVENT" = push ]` becomes `EVENT == 'push'`.
 */
import { FALSE, TRUE, and, concat, literal, not, or, parseExpressionOrOpaque, type Expr } from '../expr/syntax.ts';

interface WordLike {
  text: string;
  raw: string;
}

/** Expands `${NAME…}` forms: defaults keep a non-empty fallback, the rest derive from the variable. */
function braced(inner: string): Expr {
  const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(inner)?.[0];
  if (name === undefined) return { kind: 'opaque', key: `\${${inner}}`, type: 'string' };
  const rest = inner.slice(name.length);
  const variable: Expr = { kind: 'shellVar', name };
  if (rest === '') return variable;
  const fallback = /^:?-(.*)$/s.exec(rest);
  if (fallback !== null) return or(variable, concat(expansions(fallback[1] ?? '', 'word')));
  if (/^:?\+/.test(rest)) return { kind: 'opaque', key: `\${${inner}}`, type: 'string' };
  return { kind: 'derived', of: variable };
}

function closing(raw: string, from: number, open: string, close: string): number {
  let depth = 0;
  for (let i = from; i < raw.length; i++) {
    if (raw[i] === open) depth++;
    else if (raw[i] === close) {
      depth--;
      if (depth === 0) return i;
    }
  }
  return raw.length - 1;
}

/** How quotes read: as in a word, literally (a heredoc body), or with no expansion at all (a quoted heredoc). */
type Mode = 'word' | 'heredoc' | 'literal';

/** Reads the parts of `raw`: literal text, `${{ }}` expressions, variables, command substitutions. */
function expansions(raw: string, mode: Mode): Expr[] {
  const single = mode === 'literal';
  const quotesAreText = mode !== 'word';
  const parts: Expr[] = [];
  let text = '';
  let i = 0;
  let quote: string | undefined;
  const flush = (): void => {
    if (text !== '') parts.push(literal(text));
    text = '';
  };
  while (i < raw.length) {
    const c = raw[i] ?? '';
    if (raw.startsWith('${{', i)) {
      const close = raw.indexOf('}}', i);
      const end = close === -1 ? raw.length : close;
      flush();
      parts.push(parseExpressionOrOpaque(raw.slice(i + 3, end)));
      i = end + 2;
      continue;
    }
    if (quote === "'" || single) {
      if (c === "'" && !single) quote = undefined;
      else text += c;
      i++;
      continue;
    }
    if (quotesAreText && (c === "'" || c === '"')) {
      text += c;
      i++;
      continue;
    }
    if (c === "'" && quote === undefined) {
      quote = "'";
      i++;
      continue;
    }
    if (c === '"') {
      quote = quote === '"' ? undefined : '"';
      i++;
      continue;
    }
    if (c === '\\') {
      text += raw[i + 1] ?? '';
      i += 2;
      continue;
    }
    if (c === '$' && raw[i + 1] === '(') {
      const end = closing(raw, i + 1, '(', ')');
      flush();
      parts.push({ kind: 'opaque', key: raw.slice(i, end + 1), type: 'string' });
      i = end + 1;
      continue;
    }
    if (c === '`') {
      const end = raw.indexOf('`', i + 1);
      flush();
      parts.push({ kind: 'opaque', key: raw.slice(i, end === -1 ? raw.length : end + 1), type: 'string' });
      i = end === -1 ? raw.length : end + 1;
      continue;
    }
    if (c === '$' && raw[i + 1] === '{') {
      const end = closing(raw, i + 1, '{', '}');
      flush();
      parts.push(braced(raw.slice(i + 2, end)));
      i = end + 1;
      continue;
    }
    const name = c === '$' ? /^[A-Za-z_][A-Za-z0-9_]*/.exec(raw.slice(i + 1))?.[0] : undefined;
    if (name !== undefined) {
      flush();
      parts.push({ kind: 'shellVar', name });
      i += 1 + name.length;
      continue;
    }
    if (c === '$' && /[0-9@*#?$!-]/.test(raw[i + 1] ?? '')) {
      flush();
      parts.push({ kind: 'opaque', key: raw.slice(i, i + 2), type: 'string' });
      i += 2;
      continue;
    }
    text += c;
    i++;
  }
  flush();
  return parts;
}

const words = new Map<string, Expr>();

/** A shell word as a value (words repeat across steps and workflows: each is read once). */
export function wordExpr(word: WordLike): Expr {
  let expr = words.get(word.raw);
  if (expr === undefined) {
    expr = concat(expansions(word.raw, 'word'));
    if (words.size > 10_000) words.clear();
    words.set(word.raw, expr);
  }
  return expr;
}

/** Text written without expansion (a quoted heredoc): only `${{ }}` is replaced, by GitHub, before the shell runs. */
export function literalText(text: string): Expr {
  return concat(expansions(text, 'literal'));
}

/** A line of text as the shell expands it in an unquoted heredoc. */
export function expandedText(text: string): Expr {
  return concat(expansions(text, 'heredoc'));
}

function isGlob(word: WordLike): boolean {
  return word.raw === word.text && /[*?[]/.test(word.text);
}

class TestParser {
  private index = 0;
  private readonly words: readonly WordLike[];
  private readonly extended: boolean;
  constructor(words: readonly WordLike[], extended: boolean) {
    this.words = words;
    this.extended = extended;
  }

  private peek(): string | undefined {
    return this.words[this.index]?.text;
  }

  parse(): Expr | undefined {
    const expr = this.or();
    return this.index === this.words.length ? expr : undefined;
  }

  private or(): Expr | undefined {
    let left = this.and();
    while (left !== undefined && (this.peek() === '-o' || this.peek() === '||')) {
      this.index++;
      const right = this.and();
      left = right === undefined ? undefined : or(left, right);
    }
    return left;
  }

  private and(): Expr | undefined {
    let left = this.unary();
    while (left !== undefined && (this.peek() === '-a' || this.peek() === '&&')) {
      this.index++;
      const right = this.unary();
      left = right === undefined ? undefined : and(left, right);
    }
    return left;
  }

  private unary(): Expr | undefined {
    const head = this.peek();
    if (head === '!') {
      this.index++;
      const inner = this.unary();
      return inner === undefined ? undefined : not(inner);
    }
    if (head === '(') {
      this.index++;
      const inner = this.or();
      if (this.peek() === ')') this.index++;
      return inner;
    }
    const first = this.words[this.index];
    if (first === undefined) return undefined;
    const operator = this.words[this.index + 1]?.text;
    if (['=', '==', '!=', '-eq', '-ne'].includes(operator ?? '')) {
      const second = this.words[this.index + 2];
      if (second === undefined) return undefined;
      this.index += 3;
      if (this.extended && isGlob(second)) return { kind: 'opaque', key: `[[ ${first.raw} ${operator ?? ''} ${second.raw} ]]`, type: 'bool' };
      const equal: Expr = { kind: 'compare', op: '==', left: wordExpr(first), right: wordExpr(second) };
      return operator === '!=' || operator === '-ne' ? not(equal) : equal;
    }
    if (operator !== undefined && /^(-[a-z]{2}|=~|<|>)$/.test(operator)) {
      this.index += 3;
      return { kind: 'opaque', key: `test ${first.raw} ${operator}`, type: 'bool' };
    }
    if (head === '-n' || head === '-z') {
      const operand = this.words[this.index + 1];
      if (operand === undefined) return undefined;
      this.index += 2;
      const empty: Expr = { kind: 'compare', op: '==', left: wordExpr(operand), right: literal('') };
      return head === '-z' ? empty : not(empty);
    }
    if (head !== undefined && /^-[a-zA-Z]$/.test(head) && this.words[this.index + 1] !== undefined) {
      this.index += 2;
      return { kind: 'opaque', key: `test ${head} ${this.words[this.index - 1]?.raw ?? ''}`, type: 'bool' };
    }
    this.index++;
    return not({ kind: 'compare', op: '==', left: wordExpr(first), right: literal('') });
  }
}

/** The condition a test command (`[ … ]`, `[[ … ]]`, `test …`, `true`, `false`) stands for, or undefined for other commands. */
export function testCondition(words: readonly WordLike[]): Expr | undefined {
  const head = words[0]?.text;
  if (head === 'true' || head === ':') return TRUE;
  if (head === 'false') return FALSE;
  let operands: readonly WordLike[];
  if (head === '[' && words.at(-1)?.text === ']') operands = words.slice(1, -1);
  else if (head === '[[' && words.at(-1)?.text === ']]') operands = words.slice(1, -1);
  else if (head === 'test') operands = words.slice(1);
  else return undefined;
  return new TestParser(operands, head === '[[').parse();
}
