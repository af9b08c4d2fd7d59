import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nestsDeeperThan } from '../../../src/bundle/json-depth.ts';
import { runs } from './fuzz.ts';

function depthOf(value: unknown): number {
  if (value === null || typeof value !== 'object') return 0;
  const children = Object.values(value as Record<string, unknown>);
  return 1 + (children.length === 0 ? 0 : Math.max(...children.map(depthOf)));
}

describe('the JSON depth scan that guards the parsers', () => {
  it('agrees with the depth of any JSON value, brackets and escapes inside strings included', () => {
    const tricky = fc.string({ unit: fc.constantFrom('[', ']', '{', '}', '"', '\\', 'a') });
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, tricky, fc.integer(), fc.array(tie('node'), { maxLength: 3 }), fc.dictionary(tricky, tie('node'), { maxKeys: 3 })),
    })).node;
    fc.assert(
      fc.property(value, fc.integer({ min: 0, max: 12 }), (v, max) => {
        const text = Buffer.from(JSON.stringify(v));
        expect(nestsDeeperThan(text, max)).toBe(depthOf(v) > max);
      }),
      runs(3000),
    );
  });
});
