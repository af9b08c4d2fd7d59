/**
 * What a script writes to `$GITHUB_OUTPUT` and `$GITHUB_ENV`, in GitHub's file
 * format (`name=value`, or `name<<DELIMITER` … `DELIMITER` for several lines),
 * whichever way the lines get there: `echo`/`printf` with `>>`, a
 * `{ …; } >> "$GITHUB_OUTPUT"` group, `… | tee -a "$GITHUB_OUTPUT"`,
 * `cat >> "$GITHUB_OUTPUT" <<EOF`, and the old `::set-output`.
 */
import { concat, literal, type Expr } from '../expr/syntax.ts';
import type { Script, SimpleCommand } from './script.ts';
import { expandedText, literalText, wordExpr } from './words.ts';

export type WrittenFile = 'output' | 'env';

export interface FileWrite {
  file: WrittenFile;
  name: string;
  value: Expr;
  /** When the write happens. */
  path: Expr;
  /** Index in the script of the command that writes the name. */
  index: number;
  conditional: boolean;
}

interface Line {
  file: WrittenFile;
  text: Expr;
  command: SimpleCommand;
}

function fileOf(target: string | undefined): WrittenFile | undefined {
  if (target === undefined) return undefined;
  if (/GITHUB_OUTPUT/.test(target)) return 'output';
  if (/GITHUB_ENV/.test(target)) return 'env';
  return undefined;
}

/** Splits a value at the newlines of its literal parts. */
function splitLines(expr: Expr): Expr[] {
  const parts = expr.kind === 'concat' ? expr.parts : [expr];
  const lines: Expr[][] = [[]];
  for (const part of parts) {
    if (part.kind === 'literal' && typeof part.value === 'string' && part.value.includes('\n')) {
      const pieces = part.value.split('\n');
      pieces.forEach((piece, index) => {
        if (index > 0) lines.push([]);
        lines.at(-1)?.push(literal(piece));
      });
    } else lines.at(-1)?.push(part);
  }
  if (lines.length > 1 && lines.at(-1)?.every((p) => p.kind === 'literal' && p.value === '') === true) lines.pop();
  return lines.map(concat);
}

/** What a command prints, as lines; undefined when the model cannot tell. */
function printed(command: SimpleCommand): Expr[] | undefined {
  const [head, ...args] = command.words;
  if (head?.text === 'echo') {
    let escapes = false;
    let rest = args;
    while (rest[0] !== undefined && /^-[neE]+$/.test(rest[0].text)) {
      escapes ||= rest[0].text.includes('e');
      rest = rest.slice(1);
    }
    const parts: Expr[] = [];
    rest.forEach((word, index) => {
      if (index > 0) parts.push(literal(' '));
      parts.push(wordExpr(word));
    });
    const text = concat(parts);
    return escapes ? splitLines(unescape(text)) : [text];
  }
  if (head?.text === 'printf') {
    const [format, ...values] = args;
    if (format === undefined) return [];
    let next = 0;
    const formatParts = wordExpr(format);
    const pieces = formatParts.kind === 'concat' ? formatParts.parts : [formatParts];
    const expanded: Expr[] = [];
    for (const piece of pieces) {
      if (piece.kind !== 'literal' || typeof piece.value !== 'string') {
        expanded.push(piece);
        continue;
      }
      const segments = piece.value.split(/(%[sdb])/);
      for (const segment of segments) {
        if (/^%[sdb]$/.test(segment)) {
          const value = values[next++];
          expanded.push(value === undefined ? literal('') : wordExpr(value));
        } else expanded.push(literal(segment.replace(/\\n/g, '\n').replace(/\\t/g, '\t')));
      }
    }
    return splitLines(concat(expanded));
  }
  if (head?.text === 'cat' && command.heredoc !== undefined) {
    const body = command.heredoc.body.replace(/\n$/, '');
    return body.split('\n').map((line) => (command.heredoc?.expand === true ? expandedText(line) : literalText(line)));
  }
  return undefined;
}

function unescape(expr: Expr): Expr {
  if (expr.kind === 'literal' && typeof expr.value === 'string') return literal(expr.value.replace(/\\n/g, '\n').replace(/\\t/g, '\t'));
  if (expr.kind === 'concat') return concat(expr.parts.map(unescape));
  return expr;
}

/** The lines written to GitHub's files, in order. */
function writtenLines(script: Script): Line[] {
  const lines: Line[] = [];
  for (const command of script.commands) {
    const head = command.words[0]?.text;
    if (head === 'tee') {
      const file = command.words.slice(1).map((w) => fileOf(w.text)).find((f) => f !== undefined);
      const source = command.pipedFrom === undefined ? undefined : printed(command.pipedFrom);
      if (file !== undefined && source !== undefined) for (const text of source) lines.push({ file, text, command });
      continue;
    }
    const file = fileOf(command.redirectOut);
    const text = printed(command);
    if (text === undefined) continue;
    if (file !== undefined) {
      for (const line of text) lines.push({ file, text: line, command });
      continue;
    }
    // The old workflow command, printed to the log: `::set-output name=x::value`.
    for (const line of text) {
      const first = line.kind === 'concat' ? line.parts[0] : line;
      if (first?.kind === 'literal' && typeof first.value === 'string' && first.value.startsWith('::set-output name=')) {
        const rest = first.value.slice('::set-output name='.length);
        const cut = rest.indexOf('::');
        if (cut === -1) continue;
        const tail = line.kind === 'concat' ? line.parts.slice(1) : [];
        lines.push({ file: 'output', text: concat([literal(`${rest.slice(0, cut)}=${rest.slice(cut + 2)}`), ...tail]), command });
      }
    }
  }
  return lines;
}

/** `name=value` or `name<<DELIMITER`: the name and what follows, when the line starts with literal text. */
function header(line: Expr): { name: string; kind: '=' | '<<'; rest: Expr } | undefined {
  const parts = line.kind === 'concat' ? line.parts : [line];
  const [first, ...tail] = parts;
  if (first?.kind !== 'literal' || typeof first.value !== 'string') return undefined;
  const match = /^([A-Za-z_][A-Za-z0-9_.-]*)(=|<<)/.exec(first.value);
  if (match === null) return undefined;
  return { name: match[1] ?? '', kind: match[2] as '=' | '<<', rest: concat([literal(first.value.slice(match[0].length)), ...tail]) };
}

function literalValue(expr: Expr): string | undefined {
  return expr.kind === 'literal' && typeof expr.value === 'string' ? expr.value : undefined;
}

/** Every name a script writes to `$GITHUB_OUTPUT` or `$GITHUB_ENV`, with its value and the condition it is written under. */
export function fileWrites(script: Script): FileWrite[] {
  const writes: FileWrite[] = [];
  const lines = writtenLines(script);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === undefined) continue;
    const parsed = header(line.text);
    if (parsed === undefined) continue;
    const at = { file: line.file, name: parsed.name, path: line.command.path, index: line.command.index, conditional: line.command.conditional };
    if (parsed.kind === '=') {
      writes.push({ ...at, value: parsed.rest });
      continue;
    }
    const delimiter = literalValue(parsed.rest);
    const content: Expr[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const next = lines[j];
      if (next === undefined || next.file !== line.file) continue;
      if (delimiter !== undefined && literalValue(next.text) === delimiter) break;
      content.push(next.text);
    }
    i = j;
    const joined: Expr[] = [];
    content.forEach((part, index) => {
      if (index > 0) joined.push(literal('\n'));
      joined.push(part);
    });
    writes.push({ ...at, value: concat(joined) });
  }
  return writes;
}
