import { describe, expect, it } from 'vitest';
import { applyEdits } from '../../../src/workflow/migrate/apply.ts';
import { unifiedDiff } from '../../../src/workflow/migrate/diff.ts';

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\n', 'a\n', 'a', 'b')).toBe('');
  });

  it('writes hunks with three lines of context and correct ranges', () => {
    const before = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'].join('\n') + '\n';
    const after = ['1', '2', '3', '4', 'five', '6', '7', '8', '9', '10', '11'].join('\n') + '\n';
    expect(unifiedDiff(before, after, 'a/f', 'b/f')).toBe(
      ['--- a/f', '+++ b/f', '@@ -2,9 +2,10 @@', ' 2', ' 3', ' 4', '-5', '+five', ' 6', ' 7', ' 8', ' 9', ' 10', '+11', ''].join('\n'),
    );
  });

  it('handles insertion into an empty file', () => {
    expect(unifiedDiff('', 'x\n', 'a', 'b')).toBe('--- a\n+++ b\n@@ -0,0 +1,1 @@\n+x\n');
  });
});

describe('applyEdits', () => {
  it('applies replacements and insertions in offset order', () => {
    expect(applyEdits('abcdef', [{ start: 4, end: 4, text: 'X' }, { start: 0, end: 2, text: 'Z' }])).toBe('ZcdXef');
  });

  it('refuses overlapping edits', () => {
    expect(() => applyEdits('abcdef', [{ start: 0, end: 3, text: '' }, { start: 2, end: 4, text: '' }])).toThrow(/overlapping/);
  });
});
