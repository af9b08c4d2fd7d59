import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatBytes, formatDuration, formatRate, phaseLines, table } from '../../../../src/cli/output/format.ts';
import { ProgressDisplay } from '../../../../src/cli/output/progress-display.ts';
import { PhaseClock } from '../../../../src/handover/progress.ts';
import { Capture } from '../support.ts';

describe('format', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1.0 kB'],
    [1049, '1.0 kB'],
    [842_100_000, '842.1 MB'],
    [2.5e12, '2.5 TB'],
    [3e15, '3000.0 TB'],
  ])('formatBytes(%d) = %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('formats durations and rates', () => {
    expect(formatDuration(0)).toBe('0 ms');
    expect(formatDuration(999.4)).toBe('999 ms');
    expect(formatDuration(1000)).toBe('1.00 s');
    expect(formatDuration(61_234)).toBe('61.23 s');
    expect(formatRate(1_000_000, 1000)).toBe('1.0 MB/s');
    expect(formatRate(5, 0)).toBe('-');
  });

  it('aligns table columns without trailing spaces', () => {
    expect(table([['NAME', 'DIGEST'], ['docker-image', 'sha256:1'], ['a', 'b']])).toBe('NAME          DIGEST\ndocker-image  sha256:1\na             b');
    expect(table([['x', '', '']])).toBe('x');
  });

  it('lists phases in order', () => {
    expect(phaseLines({ 'engine read': 1500, compress: 20 })).toBe('engine read 1.50 s, compress 20 ms');
    expect(phaseLines({})).toBe('');
  });
});

describe('PhaseClock', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('times consecutive phases in order and adds up repeated ones', () => {
    const clock = new PhaseClock();
    vi.advanceTimersByTime(5);
    clock.start('inspect');
    vi.advanceTimersByTime(100);
    clock.start('stream');
    vi.advanceTimersByTime(250);
    clock.start('inspect');
    vi.advanceTimersByTime(20);
    clock.stop();
    clock.stop();
    vi.advanceTimersByTime(1000);
    const result = clock.result();
    expect(Object.keys(result.phases)).toEqual(['inspect', 'stream']);
    expect(result.phases).toEqual({ inspect: 120, stream: 250 });
    expect(result.totalMs).toBe(1375);
  });

  it('result() ends the running phase', () => {
    const clock = new PhaseClock();
    clock.start('publish');
    vi.advanceTimersByTime(42);
    expect(clock.result().phases).toEqual({ publish: 42 });
    vi.advanceTimersByTime(100);
    expect(clock.result().phases).toEqual({ publish: 42 });
  });
});

describe('ProgressDisplay', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('on a terminal rewrites one live line per event and clears it when done', () => {
    const out = new Capture(true);
    const display = new ProgressDisplay(out);
    vi.advanceTimersByTime(1000);
    display.listener({ phase: 'export', bytes: 500_000, total: 1_000_000 });
    expect(out.text).toBe('\r\x1b[2Kexport: 500.0 kB / 1.0 MB (50%) at 500.0 kB/s');
    display.listener({ phase: 'export', bytes: 2_000_000, total: undefined });
    expect(out.text.endsWith('\r\x1b[2Kexport: 2.0 MB at 2.0 MB/s')).toBe(true);
    display.done();
    expect(out.text.endsWith('\r\x1b[2K')).toBe(true);
    const length = out.text.length;
    display.done();
    expect(out.text.length).toBe(length);
  });

  it('caps the percentage at 100 and omits it for a zero total', () => {
    const out = new Capture(true);
    const display = new ProgressDisplay(out);
    display.listener({ phase: 'load', bytes: 3000, total: 1000 });
    expect(out.text).toContain('(100%)');
    display.listener({ phase: 'load', bytes: 0, total: 0 });
    expect(out.text.endsWith('load: 0 B / 0 B at -')).toBe(true);
  });

  it('in a log writes plain lines at most every five seconds, without escapes', () => {
    const out = new Capture(false);
    vi.advanceTimersByTime(10_000);
    const display = new ProgressDisplay(out);
    display.listener({ phase: 'export', bytes: 1000, total: undefined });
    display.listener({ phase: 'export', bytes: 2000, total: undefined });
    vi.advanceTimersByTime(4999);
    display.listener({ phase: 'export', bytes: 3000, total: undefined });
    vi.advanceTimersByTime(1);
    display.listener({ phase: 'export', bytes: 4000, total: 8000 });
    display.done();
    const lines = out.text.split('\n').filter((l) => l !== '');
    expect(lines).toEqual(['export: 1.0 kB at -', 'export: 4.0 kB / 8.0 kB (50%) at 800 B/s']);
    expect(out.text.includes('\r') || out.text.includes('\x1b')).toBe(false);
  });
});
