import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatRate } from '../../src/units.ts';

describe('units: one system for the CLI, the job summaries and the bench', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1024, '1.0 KiB'],
    [1536, '1.5 KiB'],
    [842_100_000, '803.1 MiB'],
    [2.5 * 1024 ** 4, '2.5 TiB'],
    [3 * 1024 ** 5, '3072.0 TiB'],
  ])('formatBytes(%d) = %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('formats durations and rates', () => {
    expect(formatDuration(0)).toBe('0 ms');
    expect(formatDuration(999.4)).toBe('999 ms');
    expect(formatDuration(1000)).toBe('1.00 s');
    expect(formatDuration(61_234)).toBe('61.23 s');
    expect(formatRate(1024 * 1024, 1000)).toBe('1.0 MiB/s');
    expect(formatRate(5, 0)).toBe('-');
  });
});
