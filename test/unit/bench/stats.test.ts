import { describe, expect, it } from 'vitest';
import { median, medianPhases, summarizeIncremental, summarizePattern } from '../../../bench/report/stats.ts';
import type { PatternResult } from '../../../bench/report/model.ts';

describe('median', () => {
  it('takes the middle of an odd count, unsorted input', () => {
    expect(median([9, 1, 5])).toBe(5);
  });
  it('averages the middle two of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
  it('is NaN for no values', () => {
    expect(median([])).toBeNaN();
  });
  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe('summarizePattern', () => {
  const result: PatternResult = {
    id: 'zstd',
    label: 'zstd',
    producerCommand: 'p',
    consumerCommand: 'c',
    rssOf: 'zstd',
    status: 'ok',
    rounds: [
      { producer: { wallMs: 10, peakRssKiB: 100 }, consumer: { wallMs: 1, peakRssKiB: 50 }, storedBytes: 7 },
      { producer: { wallMs: 2, peakRssKiB: 300 }, consumer: { wallMs: 20 }, storedBytes: 7 },
      { producer: { wallMs: 4 }, consumer: { wallMs: 4 }, storedBytes: 9 },
    ],
  };

  it('reports the median of each side and the median of the per-round totals', () => {
    const summary = summarizePattern(result);
    expect(summary.producerMs).toBe(4);
    expect(summary.consumerMs).toBe(4);
    // totals 11, 22, 8: the median total is 11, not 4 + 4.
    expect(summary.totalMs).toBe(11);
    expect(summary.storedBytes).toBe(7);
    expect(summary.rounds).toBe(3);
  });

  it('reports the highest RSS of any side in any round', () => {
    expect(summarizePattern(result).peakRssKiB).toBe(300);
  });

  it('leaves RSS out when nothing measured it', () => {
    const summary = summarizePattern({ ...result, rounds: [{ producer: { wallMs: 1 }, consumer: { wallMs: 1 }, storedBytes: 1 }] });
    expect(summary).not.toHaveProperty('peakRssKiB');
  });

  it('reports the median CPU of each side, engine and commands apart', () => {
    const cpu = (engineS: number, commandsS: number) => ({ engineS, commandsS });
    const summary = summarizePattern({
      ...result,
      rounds: [
        { producer: { wallMs: 1, cpu: cpu(3, 1) }, consumer: { wallMs: 1, cpu: cpu(6, 0.5) }, storedBytes: 1 },
        { producer: { wallMs: 1, cpu: cpu(1, 9) }, consumer: { wallMs: 1 }, storedBytes: 1 },
        { producer: { wallMs: 1, cpu: cpu(2, 2) }, consumer: { wallMs: 1, cpu: cpu(4, 1.5) }, storedBytes: 1 },
      ],
    });
    expect(summary.producerCpu).toEqual({ engineS: 2, commandsS: 2 });
    expect(summary.consumerCpu).toEqual({ engineS: 5, commandsS: 1 });
    expect(summarizePattern(result)).not.toHaveProperty('producerCpu');
  });

  it('keeps the reason of a pattern that did not run', () => {
    const summary = summarizePattern({ ...result, status: 'unavailable', reason: 'no CLI', rounds: [] });
    expect(summary.status).toBe('unavailable');
    expect(summary.reason).toBe('no CLI');
    expect(summary.totalMs).toBeNaN();
  });
});

describe('summarizeIncremental', () => {
  it('takes medians and leaves bytes moved out when unknown', () => {
    const summary = summarizeIncremental({
      id: 'floor',
      label: 'floor',
      producerCommand: 'p',
      consumerCommand: 'c',
      status: 'ok',
      samples: [
        { storeBytesAdded: 5, produceMs: 1, consumeMs: 3 },
        { storeBytesAdded: 3, produceMs: 2, consumeMs: 1 },
        { storeBytesAdded: 4, produceMs: 9, consumeMs: 2 },
      ],
    });
    expect(summary).toMatchObject({ storeBytesAdded: 4, produceMs: 2, consumeMs: 2 });
    expect(summary).not.toHaveProperty('bytesMoved');
  });
});

describe('medianPhases', () => {
  it('takes the median per key over the rounds, keys in first-seen order', () => {
    const rounds = [
      new Map([['read', 3], ['write', 1]]),
      new Map([['read', 1], ['verify', 5]]),
      new Map([['read', 2], ['write', 3]]),
    ];
    expect(medianPhases(rounds)).toEqual([['read', 2], ['write', 2], ['verify', 5]]);
  });
});
