import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EmptyReferenceError, HandoverError, InvalidReferenceError } from '../../../src/errors.ts';
import { familiarTag, parseReference, parseTagReference, qualifiedTag } from '../../../src/ref/reference.ts';
import { runs, typedOrValue } from './fuzz.ts';

/** Pieces of Docker's reference grammar, and characters that break it. */
const piece = fc.string({ unit: fc.constantFrom(...'abcz09._-__/:@Aé +\t\0[]'.split('')), maxLength: 24 });
const referenceLike = fc
  .tuple(
    fc.option(fc.constantFrom('docker.io/', 'localhost:5000/', 'ghcr.io/', 'Registry.Example.com:443/', '[::1]:5000/', 'a..b/', ':/'), { nil: undefined }),
    fc.array(piece, { minLength: 1, maxLength: 4 }),
    fc.option(piece, { nil: undefined }),
    fc.option(fc.stringMatching(/^[a-z0-9]{1,8}:[0-9a-f]{0,70}$/), { nil: undefined }),
  )
  .map(([domain, path, tag, digest]) => `${domain ?? ''}${path.join('/')}${tag === undefined ? '' : `:${tag}`}${digest === undefined ? '' : `@${digest}`}`);

function onlyReferenceErrors(value: unknown): void {
  if (value instanceof HandoverError) expect([EmptyReferenceError, InvalidReferenceError].some((c) => value instanceof c), value.message).toBe(true);
}

describe('the image reference parser under fuzzing', () => {
  it('any string: a reference, or REF_EMPTY / REF_INVALID', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), referenceLike), (text) => {
        onlyReferenceErrors(typedOrValue(() => parseReference(text)));
        onlyReferenceErrors(typedOrValue(() => parseTagReference(text)));
      }),
      runs(3000),
    );
  }, 30_000); // 3000 inputs: a few seconds, more on a busy machine

  it('what it accepts as a tag survives a round trip through its familiar and qualified forms', () => {
    fc.assert(
      fc.property(referenceLike, (text) => {
        const parsed = typedOrValue(() => parseTagReference(text));
        if (parsed instanceof HandoverError) return;
        for (const form of [familiarTag(parsed), qualifiedTag(parsed)]) {
          const again = parseTagReference(form);
          expect([again.domain, again.path, again.tag]).toEqual([parsed.domain, parsed.path, parsed.tag]);
        }
      }),
      runs(3000),
    );
  });

  it('long adversarial inputs are decided quickly (no catastrophic backtracking)', () => {
    const adversarial = fc.tuple(fc.constantFrom('a-', 'a.', 'a__', 'a', 'a-b.', '0:', 'a/'), fc.integer({ min: 100, max: 5000 }), fc.constantFrom('!', 'A', ':', '', '-', '@sha256:'))
      .map(([unit, n, end]) => unit.repeat(n) + end);
    fc.assert(
      fc.property(adversarial, (text) => {
        const started = performance.now();
        onlyReferenceErrors(typedOrValue(() => parseReference(text)));
        // Backtracking on 5000 characters would take minutes; a busy machine still decides each in milliseconds.
        expect(performance.now() - started).toBeLessThan(1000);
      }),
      runs(200),
    );
  });
});
