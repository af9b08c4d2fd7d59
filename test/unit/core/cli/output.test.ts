import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { phaseLines, table } from '../../../../src/cli/output/format.ts';
import { ProgressDisplay } from '../../../../src/cli/output/progress-display.ts';
import { PhaseClock } from '../../../../src/handover/progress.ts';
import { Capture } from '../support.ts';

describe('format', () => {
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
    display.listener({ phase: 'export', bytes: 512 * 1024, total: 1024 * 1024 });
    expect(out.text).toBe('\r\x1b[2Kexport: 512.0 KiB / 1.0 MiB (50%) at 512.0 KiB/s');
    display.listener({ phase: 'export', bytes: 2 * 1024 * 1024, total: undefined });
    expect(out.text.endsWith('\r\x1b[2Kexport: 2.0 MiB at 2.0 MiB/s')).toBe(true);
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
    display.listener({ phase: 'export', bytes: 1024, total: undefined });
    display.listener({ phase: 'export', bytes: 2048, total: undefined });
    vi.advanceTimersByTime(4999);
    display.listener({ phase: 'export', bytes: 3072, total: undefined });
    vi.advanceTimersByTime(1);
    display.listener({ phase: 'export', bytes: 4096, total: 8192 });
    display.done();
    const lines = out.text.split('\n').filter((l) => l !== '');
    expect(lines).toEqual(['export: 1.0 KiB at -', 'export: 4.0 KiB / 8.0 KiB (50%) at 819 B/s']);
    expect(out.text.includes('\r') || out.text.includes('\x1b')).toBe(false);
  });
});
