/**
 * A reading of the bash scripts in `run:` steps: the simple commands, each
 * with the condition under which it runs (if/elif/else, case, && and ||,
 * loops, and the early `exit`s before it), heredoc bodies, and the
 * redirection of `{ …; } > file` groups. Not a full shell: enough for docker
 * commands and what a script writes to `$GITHUB_OUTPUT` and `$GITHUB_ENV`.
 */
import { FALSE, TRUE, and, anyOf, not, or, type Expr } from '../expr/syntax.ts';
import { testCondition, wordExpr } from './words.ts';

export interface Word {
  /** The word with quotes removed. */
  text: string;
  /** The word as written, quotes and all. */
  raw: string;
  /** Index in the script of the word's first character. */
  index: number;
}

export interface Heredoc {
  body: string;
  /** Index in the script of the body's first character. */
  index: number;
  /** False when the delimiter was quoted: no expansion in the body. */
  expand: boolean;
}

export interface SimpleCommand {
  words: Word[];
  /** The command's text as written (without its redirections' heredoc bodies). */
  raw: string;
  index: number;
  /** The condition under which this command runs, in the terms of the expression language. */
  path: Expr;
  /** Runs only under some condition (inside if/case/loop, after && or ||, after an early exit). */
  conditional: boolean;
  /** The command whose output is piped into this one. */
  pipedFrom: SimpleCommand | undefined;
  /** Target of `>`/`>>` (its own, or its group's), quotes removed. */
  redirectOut: string | undefined;
  /** Source of `<`, quotes removed. */
  redirectIn: string | undefined;
  heredoc: Heredoc | undefined;
}

export interface Script {
  commands: SimpleCommand[];
  /** When the script stops with a non-zero `exit`: the step fails. */
  failsWhen: Expr;
}

// ---------------------------------------------------------------------------
// Tokens

interface WordToken {
  type: 'word';
  word: Word;
}
interface OpToken {
  type: 'op';
  value: string;
  index: number;
}
interface RedirectToken {
  type: 'redirect';
  op: string;
  fd: string;
  target: Word | undefined;
  heredoc: Heredoc | undefined;
  index: number;
}
type Token = WordToken | OpToken | RedirectToken;

const OPERATORS = [';;', '&&', '||', ';', '|', '&', '(', ')', '\n'];
const REDIRECTS = ['<<<', '<<-', '<<', '>>', '>&', '&>', '<&', '>|', '>', '<'];

function readWord(script: string, start: number): { word: Word; end: number } {
  let i = start;
  let text = '';
  const closeOf = (open: string, close: string, from: number): number => {
    let depth = 0;
    for (let j = from; j < script.length; j++) {
      if (script.startsWith(open, j)) depth++;
      else if (script.startsWith(close, j)) {
        depth--;
        if (depth === 0) return j + close.length;
      }
    }
    return script.length;
  };
  while (i < script.length) {
    const c = script[i] ?? '';
    if (script.startsWith('${{', i)) {
      const close = script.indexOf('}}', i);
      const stop = close === -1 ? script.length : close + 2;
      text += script.slice(i, stop);
      i = stop;
    } else if (c === '\\' && script[i + 1] === '\n') i += 2;
    else if (c === '\\') {
      text += script[i + 1] ?? '';
      i += 2;
    } else if (c === "'") {
      const close = script.indexOf("'", i + 1);
      const stop = close === -1 ? script.length : close;
      text += script.slice(i + 1, stop);
      i = stop + 1;
    } else if (c === '"') {
      let j = i + 1;
      while (j < script.length && script[j] !== '"') {
        if (script.startsWith('${{', j)) {
          const close = script.indexOf('}}', j);
          j = close === -1 ? script.length : close + 2;
          continue;
        }
        if (script[j] === '\\') j++;
        else if (script.startsWith('$(', j)) {
          j = closeOf('(', ')', j + 1);
          continue;
        }
        j++;
      }
      text += script.slice(i + 1, j).replace(/\\(["\\$`])/g, '$1');
      i = Math.min(script.length, j + 1);
    } else if (script.startsWith('$(', i)) {
      const stop = closeOf('(', ')', i + 1);
      text += script.slice(i, stop);
      i = stop;
    } else if (script.startsWith('${', i)) {
      const stop = closeOf('{', '}', i + 1);
      text += script.slice(i, stop);
      i = stop;
    } else if (c === '`') {
      const close = script.indexOf('`', i + 1);
      const stop = close === -1 ? script.length : close + 1;
      text += script.slice(i, stop);
      i = stop;
    } else if (/[\s;&|()<>]/.test(c)) break;
    else {
      text += c;
      i++;
    }
  }
  return { word: { text, raw: script.slice(start, i), index: start }, end: i };
}

function tokenize(script: string): Token[] {
  const tokens: Token[] = [];
  const pending: RedirectToken[] = [];
  // Inside [[ … ]], && || < > are the test's own operators.
  let doubleBracket = false;
  let i = 0;
  const readHeredocs = (): void => {
    for (const redirect of pending.splice(0)) {
      const delimiter = redirect.target?.text ?? '';
      const strip = redirect.op === '<<-';
      const bodyStart = i;
      let body = '';
      for (;;) {
        if (i >= script.length) break;
        const newline = script.indexOf('\n', i);
        const end = newline === -1 ? script.length : newline;
        const line = script.slice(i, end);
        i = newline === -1 ? script.length : newline + 1;
        if ((strip ? line.replace(/^\t+/, '') : line).trim() === delimiter) break;
        body += `${line}\n`;
      }
      redirect.heredoc = { body, index: bodyStart, expand: redirect.target?.raw === redirect.target?.text };
    }
  };
  while (i < script.length) {
    const c = script[i] ?? '';
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '\\' && script[i + 1] === '\n') {
      i += 2;
      continue;
    }
    if (c === '#') {
      const newline = script.indexOf('\n', i);
      i = newline === -1 ? script.length : newline;
      continue;
    }
    if (doubleBracket && (script.startsWith('&&', i) || script.startsWith('||', i) || c === '<' || c === '>')) {
      const text = c === '<' || c === '>' ? c : script.slice(i, i + 2);
      tokens.push({ type: 'word', word: { text, raw: text, index: i } });
      i += text.length;
      continue;
    }
    const fd = /^\d+(?=[<>])/.exec(script.slice(i, i + 4))?.[0] ?? '';
    const redirect = REDIRECTS.find((op) => script.startsWith(op, i + fd.length));
    if (redirect !== undefined) {
      const index = i;
      i += fd.length + redirect.length;
      while (script[i] === ' ' || script[i] === '\t') i++;
      let target: Word | undefined;
      if (redirect.endsWith('&') && /[0-9-]/.test(script[i] ?? '')) {
        target = { text: script[i] ?? '', raw: script[i] ?? '', index: i };
        i++;
      } else if (i < script.length && !/[\n;&|()<>]/.test(script[i] ?? '')) {
        const read = readWord(script, i);
        target = read.word;
        i = read.end;
      }
      const token: RedirectToken = { type: 'redirect', op: redirect, fd, target, heredoc: undefined, index };
      if (redirect === '<<' || redirect === '<<-') pending.push(token);
      tokens.push(token);
      continue;
    }
    const op = OPERATORS.find((o) => script.startsWith(o, i));
    if (op !== undefined) {
      tokens.push({ type: 'op', value: op, index: i });
      i += op.length;
      if (op === '\n') readHeredocs();
      continue;
    }
    const read = readWord(script, i);
    tokens.push({ type: 'word', word: read.word });
    if (read.word.raw === '[[') doubleBracket = true;
    else if (read.word.raw === ']]') doubleBracket = false;
    i = read.end;
  }
  return tokens;
}

// ---------------------------------------------------------------------------
// Syntax

interface Simple {
  kind: 'simple';
  words: Word[];
  redirects: RedirectToken[];
  index: number;
  end: number;
}
interface IfClause {
  kind: 'if';
  arms: { condition: AndOr[]; body: AndOr[] }[];
  otherwise: AndOr[] | undefined;
}
interface CaseClause {
  kind: 'case';
  subject: Word | undefined;
  arms: { patterns: Word[]; body: AndOr[] }[];
}
interface Loop {
  kind: 'loop';
  condition: AndOr[];
  body: AndOr[];
  index: number;
}
interface Group {
  kind: 'group';
  subshell: boolean;
  body: AndOr[];
}
interface FunctionDef {
  kind: 'function';
  name: string;
  body: Command;
}
type Compound = IfClause | CaseClause | Loop | Group | FunctionDef;
type Command = Simple | (Compound & { redirects: RedirectToken[] });
interface Pipeline {
  bang: boolean;
  commands: Command[];
}
interface AndOr {
  pipelines: Pipeline[];
  operators: ('&&' | '||')[];
}

const TERMINATORS = new Set(['then', 'elif', 'else', 'fi', 'do', 'done', 'esac', '}']);

class Parser {
  private index = 0;
  private readonly tokens: Token[];
  private readonly script: string;
  constructor(tokens: Token[], script: string) {
    this.tokens = tokens;
    this.script = script;
  }

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }

  private peekWord(): string | undefined {
    const token = this.peek();
    return token?.type === 'word' ? token.word.text : undefined;
  }

  private isOp(value: string): boolean {
    const token = this.peek();
    return token?.type === 'op' && token.value === value;
  }

  private skipSeparators(): void {
    while (this.isOp('\n') || this.isOp(';') || this.isOp('&')) this.index++;
  }

  private skipNewlines(): void {
    while (this.isOp('\n')) this.index++;
  }

  /** Commands until one of the closing words (or `;;`, `)`, end). */
  list(): AndOr[] {
    const items: AndOr[] = [];
    for (;;) {
      this.skipSeparators();
      const token = this.peek();
      if (token === undefined) return items;
      if (token.type === 'op' && (token.value === ';;' || token.value === ')')) return items;
      if (token.type === 'word' && TERMINATORS.has(token.word.text)) return items;
      const before = this.index;
      items.push(this.andOr());
      if (this.index === before) this.index++;
    }
  }

  private andOr(): AndOr {
    const pipelines = [this.pipeline()];
    const operators: ('&&' | '||')[] = [];
    while (this.isOp('&&') || this.isOp('||')) {
      const token = this.peek() as OpToken;
      operators.push(token.value as '&&' | '||');
      this.index++;
      this.skipNewlines();
      pipelines.push(this.pipeline());
    }
    return { pipelines, operators };
  }

  private pipeline(): Pipeline {
    let bang = false;
    if (this.peekWord() === '!') {
      bang = true;
      this.index++;
    }
    const commands = [this.command()];
    while (this.isOp('|')) {
      this.index++;
      this.skipNewlines();
      commands.push(this.command());
    }
    return { bang, commands };
  }

  private expectWord(word: string): void {
    this.skipSeparators();
    if (this.peekWord() === word) this.index++;
  }

  private redirects(): RedirectToken[] {
    const found: RedirectToken[] = [];
    for (let token = this.peek(); token?.type === 'redirect'; token = this.peek()) {
      found.push(token);
      this.index++;
    }
    return found;
  }

  private command(): Command {
    const head = this.peekWord();
    const start = this.peek();
    const startIndex = start === undefined ? this.script.length : start.type === 'word' ? start.word.index : start.index;
    if (head === 'if') {
      this.index++;
      const arms: IfClause['arms'] = [];
      let otherwise: AndOr[] | undefined;
      for (;;) {
        const condition = this.list();
        this.expectWord('then');
        const body = this.list();
        arms.push({ condition, body });
        this.skipSeparators();
        const next = this.peekWord();
        this.index++;
        if (next === 'elif') continue;
        if (next === 'else') {
          otherwise = this.list();
          this.expectWord('fi');
        }
        break;
      }
      return { kind: 'if', arms, otherwise, redirects: this.redirects() };
    }
    if (head === 'while' || head === 'until' || head === 'for' || head === 'select') {
      this.index++;
      let condition: AndOr[] = [];
      if (head === 'for' || head === 'select') {
        while (this.peek() !== undefined && this.peekWord() !== 'do') this.index++;
      } else condition = this.list();
      this.expectWord('do');
      const body = this.list();
      this.expectWord('done');
      return { kind: 'loop', condition, body, index: startIndex, redirects: this.redirects() };
    }
    if (head === 'case') {
      this.index++;
      const subjectToken = this.peek();
      const subject = subjectToken?.type === 'word' ? subjectToken.word : undefined;
      this.index++;
      this.skipNewlines();
      if (this.peekWord() === 'in') this.index++;
      const arms: CaseClause['arms'] = [];
      for (;;) {
        this.skipSeparators();
        if (this.peek() === undefined || this.peekWord() === 'esac') {
          this.index++;
          break;
        }
        if (this.isOp('(')) this.index++;
        const patterns: Word[] = [];
        while (this.peek() !== undefined && !this.isOp(')')) {
          const token = this.peek();
          if (token?.type === 'word') patterns.push(token.word);
          this.index++;
        }
        this.index++;
        const body = this.list();
        if (this.isOp(';;')) this.index++;
        arms.push({ patterns, body });
      }
      return { kind: 'case', subject, arms, redirects: this.redirects() };
    }
    if (head === '{' || this.isOp('(')) {
      const subshell = head !== '{';
      this.index++;
      const body = this.list();
      if (subshell ? this.isOp(')') : this.peekWord() === '}') this.index++;
      return { kind: 'group', subshell, body, redirects: this.redirects() };
    }
    return this.simple(startIndex);
  }

  private simple(startIndex: number): Command {
    const words: Word[] = [];
    const redirects: RedirectToken[] = [];
    let end = startIndex;
    for (let token = this.peek(); token !== undefined; token = this.peek()) {
      if (token.type === 'word') {
        words.push(token.word);
        end = token.word.index + token.word.raw.length;
      } else if (token.type === 'redirect') {
        redirects.push(token);
        end = (token.target?.index ?? token.index) + (token.target?.raw.length ?? token.op.length);
      } else if (token.value === '(' && words.length === 1 && this.tokens[this.index + 1]?.type === 'op') {
        // name() { …; }: a function definition.
        this.index += 2;
        this.skipNewlines();
        const name = words[0]?.text ?? '';
        return { kind: 'function', name, body: this.command(), redirects: [] };
      } else break;
      this.index++;
    }
    return { kind: 'simple', words, redirects, index: words[0]?.index ?? startIndex, end };
  }
}

// ---------------------------------------------------------------------------
// Conditions

interface Outcome {
  /** When the command succeeds (for && and || and if). */
  succeeds: Expr;
  /** When the script stops here (exit). */
  exits: Expr;
  /** When it stops with a non-zero status. */
  fails: Expr;
}

class Walker {
  readonly commands: SimpleCommand[] = [];
  private counter = 0;
  private readonly script: string;
  private readonly scope: string;
  constructor(script: string, scope: string) {
    this.script = script;
    this.scope = scope;
  }

  private opaque(what: string): Expr {
    return { kind: 'opaque', key: `${this.scope}:${what}:${this.counter++}`, type: 'bool' };
  }

  list(items: readonly AndOr[], path: Expr, out: string | undefined): Outcome {
    let reach = path;
    let exits: Expr = FALSE;
    let fails: Expr = FALSE;
    let succeeds: Expr = TRUE;
    for (const item of items) {
      const outcome = this.andOr(item, reach, out);
      exits = or(exits, outcome.exits);
      fails = or(fails, outcome.fails);
      succeeds = outcome.succeeds;
      reach = and(reach, not(outcome.exits));
    }
    return { succeeds, exits, fails };
  }

  private andOr(item: AndOr, path: Expr, out: string | undefined): Outcome {
    let exits: Expr = FALSE;
    let fails: Expr = FALSE;
    let succeeds: Expr = TRUE;
    item.pipelines.forEach((pipeline, index) => {
      const operator = index === 0 ? undefined : item.operators[index - 1];
      const runs = operator === undefined ? path : and(path, operator === '&&' ? succeeds : not(succeeds));
      const outcome = this.pipeline(pipeline, runs, out);
      exits = or(exits, outcome.exits);
      fails = or(fails, outcome.fails);
      succeeds = operator === undefined ? outcome.succeeds : operator === '&&' ? and(succeeds, outcome.succeeds) : or(succeeds, outcome.succeeds);
    });
    return { succeeds, exits, fails };
  }

  private pipeline(pipeline: Pipeline, path: Expr, out: string | undefined): Outcome {
    let outcome: Outcome = { succeeds: TRUE, exits: FALSE, fails: FALSE };
    let exits: Expr = FALSE;
    let fails: Expr = FALSE;
    let pipedFrom: SimpleCommand | undefined;
    for (const command of pipeline.commands) {
      const before = this.commands.length;
      outcome = this.command(command, path, out, pipedFrom);
      // Commands in a pipeline run in subshells: an exit stops only that part, unless it is the whole script's last.
      if (pipeline.commands.length === 1) {
        exits = outcome.exits;
        fails = outcome.fails;
      }
      pipedFrom = this.commands.length > before ? this.commands.at(-1) : undefined;
    }
    return { succeeds: pipeline.bang ? not(outcome.succeeds) : outcome.succeeds, exits, fails };
  }

  private command(command: Command, path: Expr, out: string | undefined, pipedFrom: SimpleCommand | undefined): Outcome {
    const ownOut = outTarget(command.redirects);
    const target = ownOut ?? out;
    switch (command.kind) {
      case 'simple':
        return this.simple(command, path, target, pipedFrom);
      case 'if': {
        let otherwise = path;
        let exits: Expr = FALSE;
        let fails: Expr = FALSE;
        const branches: Expr[] = [];
        for (const arm of command.arms) {
          const condition = this.list(arm.condition, otherwise, undefined);
          const taken = and(otherwise, condition.succeeds);
          const body = this.list(arm.body, taken, target);
          exits = or(exits, or(condition.exits, body.exits));
          fails = or(fails, or(condition.fails, body.fails));
          branches.push(body.succeeds);
          otherwise = and(otherwise, not(condition.succeeds));
        }
        if (command.otherwise !== undefined) {
          const body = this.list(command.otherwise, otherwise, target);
          exits = or(exits, body.exits);
          fails = or(fails, body.fails);
        }
        return { succeeds: this.opaque('if'), exits, fails };
      }
      case 'case': {
        const subject = command.subject === undefined ? undefined : wordExpr(command.subject);
        let otherwise = path;
        let exits: Expr = FALSE;
        let fails: Expr = FALSE;
        for (const arm of command.arms) {
          const matches = anyOf(
            arm.patterns.map((pattern): Expr => {
              if (pattern.text === '*') return TRUE;
              if (subject === undefined || /[*?[]/.test(pattern.text)) return this.opaque('case');
              return { kind: 'compare', op: '==', left: subject, right: wordExpr(pattern) };
            }),
          );
          const taken = and(otherwise, matches);
          const body = this.list(arm.body, taken, target);
          exits = or(exits, body.exits);
          fails = or(fails, body.fails);
          otherwise = and(otherwise, not(matches));
        }
        return { succeeds: TRUE, exits, fails };
      }
      case 'loop': {
        this.list(command.condition, path, undefined);
        const body = this.list(command.body, and(path, this.opaque('loop')), target);
        return { succeeds: TRUE, exits: body.exits, fails: body.fails };
      }
      case 'group': {
        const body = this.list(command.body, path, target);
        if (command.subshell) return { succeeds: body.succeeds, exits: FALSE, fails: FALSE };
        return body;
      }
      case 'function':
        this.command(command.body, and(path, this.opaque(`function ${command.name}`)), undefined, undefined);
        return { succeeds: TRUE, exits: FALSE, fails: FALSE };
    }
  }

  private simple(command: Simple, path: Expr, out: string | undefined, pipedFrom: SimpleCommand | undefined): Outcome {
    // `NAME=value cmd`: the assignments are the command's environment; alone, they are the command.
    const assignments = command.words.findIndex((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w.text));
    const words = assignments <= 0 ? command.words : command.words.slice(assignments);
    const redirectIn = command.redirects.find((r) => r.op === '<')?.target?.text;
    const heredoc = command.redirects.find((r) => r.heredoc !== undefined)?.heredoc;
    const simple: SimpleCommand = {
      words: stripPrefixes(words),
      raw: this.script.slice(command.index, command.end),
      index: command.index,
      path,
      conditional: path.kind !== 'literal',
      pipedFrom,
      redirectOut: out,
      redirectIn,
      heredoc,
    };
    if (simple.words.length === 0 && command.words.length === 0) return { succeeds: TRUE, exits: FALSE, fails: FALSE };
    this.commands.push(simple);
    const head = simple.words[0]?.text;
    if (head === 'exit') {
      const code = simple.words[1]?.text ?? '0';
      return { succeeds: FALSE, exits: path, fails: code === '0' ? FALSE : path };
    }
    const test = testCondition(simple.words);
    return { succeeds: test ?? this.opaque(head ?? 'command'), exits: FALSE, fails: FALSE };
  }
}

function outTarget(redirects: readonly RedirectToken[]): string | undefined {
  return redirects.find((r) => (r.op === '>' || r.op === '>>' || r.op === '>|' || r.op === '&>') && r.fd !== '2')?.target?.text;
}

const PREFIXES = new Set(['sudo', 'exec', 'time', 'command', 'nohup']);

function stripPrefixes(words: Word[]): Word[] {
  let start = 0;
  while (start < words.length - 1 && PREFIXES.has(words[start]?.text ?? '')) {
    start++;
    while (start < words.length - 1 && (words[start]?.text ?? '').startsWith('-')) start++;
  }
  return words.slice(start);
}

const cache = new Map<string, Script>();

/** Reads a script. `scope` names it, so its opaque conditions are its own. */
export function readScript(script: string, scope = 'run'): Script {
  const key = `${scope}\u0000${script}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const tokens = tokenize(script);
  const parser = new Parser(tokens, script);
  const walker = new Walker(script, scope);
  const outcome = walker.list(parser.list(), TRUE, undefined);
  const result = { commands: walker.commands, failsWhen: outcome.fails };
  if (cache.size > 2000) cache.clear();
  cache.set(key, result);
  return result;
}

/** The simple commands of a script, in order. */
export function parseScript(script: string): SimpleCommand[] {
  return readScript(script).commands;
}
