import { LineCounter, parseDocument, type Document, type Scalar } from 'yaml';
import { WorkflowParseError } from '../errors.ts';

/** A 1-based line and column, as editors and SARIF count them. */
export interface Position {
  line: number;
  col: number;
}

/** A workflow file as read: its text, the YAML document with node ranges, and line bookkeeping. */
export interface SourceFile {
  path: string;
  text: string;
  document: Document.Parsed;
  lineCounter: LineCounter;
}

export function parseSource(path: string, text: string): SourceFile {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const [first] = document.errors;
  if (first !== undefined) {
    const at = lineCounter.linePos(first.pos[0]);
    throw new WorkflowParseError(`${path}:${at.line}:${at.col}: not valid YAML: ${first.message.split('\n')[0] ?? ''}`, {
      hint: 'Fix the YAML syntax; GitHub would reject this workflow too.',
      cause: first,
      details: { path, line: at.line, col: at.col },
    });
  }
  return { path, text, document, lineCounter };
}

export function positionAt(file: SourceFile, offset: number): Position {
  const { line, col } = file.lineCounter.linePos(offset);
  return { line, col };
}

export function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** Offset just past the newline that ends the line holding `offset` (or the text's end). */
export function nextLineStart(text: string, offset: number): number {
  const newline = text.indexOf('\n', offset);
  return newline === -1 ? text.length : newline + 1;
}

/** The text of line `line` (1-based), without its newline. */
export function lineText(file: SourceFile, line: number): string {
  const start = file.lineCounter.lineStarts[line - 1] ?? file.text.length;
  const end = file.text.indexOf('\n', start);
  return file.text.slice(start, end === -1 ? file.text.length : end).replace(/\r$/, '');
}

/**
 * Maps an index into a scalar's parsed value back to an offset in the file.
 * Literal blocks and unescaped single-line scalars map exactly; for folded or
 * escaped scalars the needle is searched in the node's source instead.
 */
export function scalarOffset(text: string, node: Scalar, index: number, needle = ''): number {
  const [start, end] = node.range ?? [0, 0];
  const source = text.slice(start, end);
  const value = String(node.value);
  if (node.type === 'BLOCK_LITERAL') {
    const mapped = literalBlockOffset(source, value, index);
    if (mapped !== undefined) return start + mapped;
  } else if (!value.includes('\n')) {
    const quote = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE' ? 1 : 0;
    if (source.slice(quote, quote + value.length) === value) return start + quote + index;
  }
  if (needle !== '') {
    const found = source.indexOf(needle);
    if (found !== -1) return start + found;
  }
  return start;
}

function literalBlockOffset(source: string, value: string, index: number): number | undefined {
  const lines = source.split('\n');
  const header = lines[0] ?? '';
  const content = lines.slice(1);
  const indent = Math.min(
    ...content.filter((l) => l.trim() !== '').map((l) => l.length - l.trimStart().length),
    Number.MAX_SAFE_INTEGER,
  );
  const before = value.slice(0, index);
  const valueLine = before.split('\n').length - 1;
  const valueCol = index - (before.lastIndexOf('\n') + 1);
  if (valueLine >= content.length) return undefined;
  let offset = header.length + 1;
  for (let i = 0; i < valueLine; i++) offset += (content[i] ?? '').length + 1;
  return offset + indent + valueCol;
}
