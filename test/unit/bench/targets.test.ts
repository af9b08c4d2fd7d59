import { describe, expect, it } from 'vitest';
import { evaluateTargets } from '../../../bench/report/targets.ts';
import { pattern, report } from './fixtures.ts';

function verdicts(targets: ReturnType<typeof evaluateTargets>): Record<string, string> {
  return Object.fromEntries(targets.map((target) => [target.id, target.verdict]));
}

describe('evaluateTargets', () => {
  it('passes a handover at the floor that beats zstd and stays small', () => {
    const targets = evaluateTargets(
      report({
        rssDoubling: {
          single: { image: { ref: 'a', sizeBytes: 800e6, layers: 5 }, peakRssKiB: 100 * 1024 },
          double: { image: { ref: 'b', sizeBytes: 1600e6, layers: 5 }, peakRssKiB: 105 * 1024 },
        },
      }),
    );
    expect(verdicts(targets)).toEqual({
      'total-vs-floor': 'PASS', // 12.3 s vs 11.5 s = 1.07
      'total-vs-zstd': 'PASS', // 12.3 s vs 12.5 s
      'speedup-vs-documented': 'PASS', // 47.5 / 12.3 = 3.86
      'stored-vs-zstd': 'PASS',
      'peak-rss': 'PASS',
      'rss-double': 'PASS',
      'second-image': 'PASS', // 1 MB of 270 MB
    });
    expect(targets.find((target) => target.id === 'total-vs-floor')?.measured).toBe('12.3 s / 11.5 s = 1.07×');
  });

  it('fails each target its limit is broken for, and says by how much', () => {
    const base = report();
    const slow = pattern('handover', 9000, 9000, 300e6, { peakRssKiB: 200 * 1024 });
    const targets = evaluateTargets({
      ...base,
      patterns: base.patterns.map((p) => (p.id === 'handover' ? slow : p)),
      incremental: [{ ...base.incremental[0]!, storeBytesAdded: 100e6 }],
      rssDoubling: {
        single: { image: { ref: 'a', sizeBytes: 800e6, layers: 5 }, peakRssKiB: 100 * 1024 },
        double: { image: { ref: 'b', sizeBytes: 1600e6, layers: 5 }, peakRssKiB: 120 * 1024 },
      },
    });
    expect(verdicts(targets)).toEqual({
      'total-vs-floor': 'FAIL',
      'total-vs-zstd': 'FAIL',
      'speedup-vs-documented': 'FAIL', // 47.5 / 18 = 2.64
      'stored-vs-zstd': 'FAIL',
      'peak-rss': 'FAIL',
      'rss-double': 'FAIL', // +20 %
      'second-image': 'FAIL',
    });
    expect(targets.find((target) => target.id === 'rss-double')?.measured).toContain('+20.0 %');
  });

  it('marks every target N/A with the reason when the handover did not run', () => {
    const base = report();
    const targets = evaluateTargets({
      ...base,
      patterns: base.patterns.map((p) => (p.id === 'handover' ? { ...p, status: 'unavailable' as const, reason: 'no export command yet' } : p)),
    });
    expect(targets.every((target) => target.verdict === 'N/A')).toBe(true);
    expect(targets[0]?.measured).toBe('no export command yet');
  });

  it('marks a comparison N/A when its reference pattern did not run', () => {
    const base = report();
    const targets = evaluateTargets({ ...base, patterns: base.patterns.filter((p) => p.id !== 'zstd') });
    expect(verdicts(targets)['total-vs-zstd']).toBe('N/A');
    expect(verdicts(targets)['total-vs-floor']).toBe('PASS');
  });

  it('treats the limits as inclusive', () => {
    const base = report();
    const atLimit = pattern('handover', 5500 * 1.1, 6000 * 1.1, 278e6, { peakRssKiB: 128 * 1024 });
    const floorTotal = 11500;
    const targets = evaluateTargets({ ...base, patterns: [pattern('floor', 5500, 6000, 842e6), atLimit] });
    expect(atLimit.totalMs / floorTotal).toBeCloseTo(1.1, 10);
    expect(verdicts(targets)['peak-rss']).toBe('PASS');
  });
});
