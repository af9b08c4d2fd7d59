import { describe, expect, it } from 'vitest';
import { findNumber, phaseTimings } from '../../../bench/report/phases.ts';

describe('phaseTimings', () => {
  it('finds timings by key suffix and under a timings object, at any depth', () => {
    const json = {
      bundleDigest: 'sha256:abc',
      bytes: 12,
      timings: { engineRead: 4000, compress: 3000 },
      images: [{ verifyMs: 20, size: 9 }],
    };
    expect([...phaseTimings(json)]).toEqual([
      ['timings.engineRead', 4000],
      ['timings.compress', 3000],
      ['images.0.verifyMs', 20],
    ]);
  });

  it('finds nothing in a result without timings, or in a non-object', () => {
    expect(phaseTimings({ ok: true, size: 3 }).size).toBe(0);
    expect(phaseTimings('text').size).toBe(0);
    expect(phaseTimings(undefined).size).toBe(0);
  });
});

describe('findNumber', () => {
  it('prefers the first key given, then searches nested objects', () => {
    expect(findNumber({ bytesRead: 5, bytesMoved: 7 }, ['bytesMoved', 'bytesRead'])).toBe(7);
    expect(findNumber({ result: { store: { bytesRead: 42 } } }, ['bytesMoved', 'bytesRead'])).toBe(42);
  });

  it('ignores values that are not numbers', () => {
    expect(findNumber({ bytesRead: '42' }, ['bytesRead'])).toBeUndefined();
    expect(findNumber(null, ['bytesRead'])).toBeUndefined();
  });
});
