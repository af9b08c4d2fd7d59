/** Replace text[start, end) with `text`. Insertions have start === end. */
export interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/** Two planned edits touch the same text: a planning bug, which migrate answers by converting less. */
export class OverlappingEditsError extends Error {
  override name = 'OverlappingEditsError';
}

/** Applies non-overlapping edits to the original text; insertions at one offset keep their order. */
export function applyEdits(source: string, edits: readonly TextEdit[]): string {
  const ordered = edits.map((edit, order) => ({ ...edit, order })).sort((a, b) => a.start - b.start || a.end - b.end || a.order - b.order);
  let result = '';
  let cursor = 0;
  for (const edit of ordered) {
    if (edit.start < cursor) {
      throw new OverlappingEditsError(`migrate planned overlapping edits at offset ${edit.start}`);
    }
    result += source.slice(cursor, edit.start) + edit.text;
    cursor = edit.end;
  }
  return result + source.slice(cursor);
}
