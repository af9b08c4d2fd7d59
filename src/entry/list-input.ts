import { EmptyReferenceError } from '../errors.ts';

/**
 * Splits a list input: one item per line, or comma-separated. Blank lines (a
 * YAML block scalar's) are skipped, but an empty item beside a comma is refused:
 * it is what an expression that evaluated to nothing leaves, the root cause of
 * Docker's `invalid reference format`.
 */
export function parseList(value: string, input = 'list'): string[] {
  const items: string[] = [];
  const lines = value.split('\n');
  for (const [lineIndex, line] of lines.entries()) {
    if (line.trim() === '') continue;
    for (const item of line.split(',').map((part) => part.trim())) {
      if (item === '') {
        throw new EmptyReferenceError(
          `Expected a non-empty item in the ${input} input, found an empty one on line ${lineIndex + 1} ('${line.trim()}').`,
          { hint: 'An expression in the input probably evaluated to an empty string (an unset job or step output). Check where it comes from.' },
        );
      }
      items.push(item);
    }
  }
  return items;
}
