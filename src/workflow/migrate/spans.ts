/**
 * Line spans of YAML blocks in the original text, so edits replace exactly
 * the lines of one step or mapping and leave every other byte alone.
 */
import { lineStart, nextLineStart } from '../source.ts';

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}

/**
 * The block that starts on the line holding `offset`: that line and the
 * following lines indented deeper than `parentIndent` (blank lines inside it
 * too). Returns [start of first line, end of last non-blank line incl. newline).
 */
export function blockSpan(text: string, offset: number, parentIndent: number): [number, number] {
  const start = lineStart(text, offset);
  let end = nextLineStart(text, offset);
  let cursor = end;
  while (cursor < text.length) {
    const next = nextLineStart(text, cursor);
    const line = text.slice(cursor, next).replace(/\r?\n$/, '');
    if (line.trim() !== '') {
      if (indentOf(line) <= parentIndent) break;
      end = next;
    }
    cursor = next;
  }
  return [start, end];
}

/** Column of the `- ` that starts the sequence item whose first key is at `offset`. */
export function dashColumn(text: string, offset: number): number {
  const start = lineStart(text, offset);
  const line = text.slice(start, offset);
  const dash = line.lastIndexOf('-');
  return dash === -1 ? offset - start : dash;
}

export function columnOf(text: string, offset: number): number {
  return offset - lineStart(text, offset);
}

/** A step's lines: from its `- ` line to its last line. */
export function stepSpan(text: string, stepOffset: number): [number, number] {
  return blockSpan(text, stepOffset, dashColumn(text, stepOffset));
}

/**
 * What to delete to remove a step: its lines, comment lines directly above it
 * at its indentation (they describe it), and blank lines before those, so the
 * spacing after the previous step stays as it was.
 */
export function stepDeletionSpan(text: string, stepOffset: number): [number, number] {
  const [start, end] = stepSpan(text, stepOffset);
  const dash = dashColumn(text, stepOffset);
  let from = start;
  for (;;) {
    if (from === 0) break;
    const previous = lineStart(text, from - 1);
    const line = text.slice(previous, from).replace(/\r?\n$/, '');
    if (line.trim().startsWith('#') && indentOf(line) === dash) from = previous;
    else break;
  }
  for (;;) {
    if (from === 0) break;
    const previous = lineStart(text, from - 1);
    if (text.slice(previous, from).trim() === '') from = previous;
    else break;
  }
  return [from, end];
}

/** True when the items between [first, last] of a block sequence are separated by blank lines. */
export function usesBlankLines(text: string, stepOffsets: readonly number[]): boolean {
  return stepOffsets.slice(1).some((offset) => {
    const start = lineStart(text, offset);
    const previous = lineStart(text, Math.max(0, start - 1));
    return text.slice(previous, start).trim() === '';
  });
}
