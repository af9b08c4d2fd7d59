import { describe, expect, it } from 'vitest';
import { enginesBase, holdsSameImage, parseEngineKind, resultsDir, socketOf, targetOptions } from '../../../bench/engine-kind.ts';
import { evaluateTargets } from '../../../bench/report/targets.ts';
import { report } from './fixtures.ts';

describe('--engine', () => {
  it('takes the four kinds and refuses others, naming them', () => {
    expect(parseEngineKind('28-containerd')).toBe('28-containerd');
    expect(() => parseEngineKind('29')).toThrow('--engine: unknown kind \'29\' (kinds: 20.10, 28-classic, 28-containerd, podman)');
  });

  it('keeps 20.10 where the bench always had it, every other kind in its own engines and results folders', () => {
    expect(enginesBase('/w', '20.10')).toBe('/w/engines');
    expect(enginesBase('/w', 'podman')).toBe('/w/e-podman');
    expect(resultsDir('/r', '20.10')).toBe('/r');
    expect(resultsDir('/r', '28-classic')).toBe('/r/28-classic');
    expect(socketOf('/w/e-podman', 'consumer', 'podman')).toBe('unix:///w/e-podman/consumer/podman.sock');
    expect(socketOf('/w/engines', 'producer', '20.10')).toBe('unix:///w/engines/producer/d.sock');
  });

  it('judges the same image by id, or on containerd\'s store by diff ids where the manifest was written anew', () => {
    const producer = { id: 'sha256:a', diffIds: '["sha256:1"]' };
    expect(holdsSameImage('28-classic', producer, { id: 'sha256:a', diffIds: '["sha256:1"]' })).toBe(true);
    expect(holdsSameImage('podman', producer, { id: 'sha256:b', diffIds: '["sha256:1"]' })).toBe(false);
    expect(holdsSameImage('28-containerd', producer, { id: 'sha256:b', diffIds: '["sha256:1"]' })).toBe(true);
    expect(holdsSameImage('28-containerd', producer, { id: 'sha256:b', diffIds: '["sha256:2"]' })).toBe(false);
  });

  it('holds modern engines to the floor itself, and does not compare bytes where containerd\'s layers pass through compressed', () => {
    // The fixture's handover is 1.07× its floor: within 20.10's 1.1, over the modern engines' 1.0.
    const verdict = (kind: Parameters<typeof targetOptions>[0], id: string): string | undefined =>
      evaluateTargets(report(), targetOptions(kind)).find((target) => target.id === id)?.verdict;
    expect(verdict('20.10', 'total-vs-floor')).toBe('PASS');
    expect(verdict('28-classic', 'total-vs-floor')).toBe('FAIL');
    expect(verdict('28-classic', 'stored-vs-zstd')).toBe('PASS');
    expect(verdict('28-containerd', 'stored-vs-zstd')).toBe('N/A');
  });
});
