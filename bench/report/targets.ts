/**
 * Issue 5's targets as ratios from the same run. Evaluated and reported,
 * never asserted: a FAIL is a finding, not a broken build.
 */
import { mebibytesFromKiB, mebibytes, percent, ratio, seconds } from './format.ts';
import type { BenchReport, PatternSummary } from './model.ts';

export type Verdict = 'PASS' | 'FAIL' | 'N/A';

export interface TargetResult {
  id: string;
  target: string;
  measured: string;
  verdict: Verdict;
}

export const limits = {
  totalVsFloor: 1.1,
  totalVsZstd: 1.0,
  speedupVsDocumented: 3.5,
  peakRssMiB: 128,
  rssGrowthWhenDoubled: 0.1,
  secondImageShare: 0.05,
} as const;

function ok(pattern: PatternSummary | undefined): boolean {
  return pattern !== undefined && pattern.status === 'ok' && Number.isFinite(pattern.totalMs);
}

function verdict(pass: boolean): Verdict {
  return pass ? 'PASS' : 'FAIL';
}

function notAvailable(id: string, target: string, why: string): TargetResult {
  return { id, target, measured: why, verdict: 'N/A' };
}

/** What a run of one engine kind changes: its floor ratio, and whether the bytes target applies (layers that arrive compressed pass through). */
export interface TargetOptions {
  totalVsFloor?: number;
  /** Why the bytes-stored target does not apply on this engine, if it does not. */
  storedVsZstdNotApplicable?: string;
}

export function evaluateTargets(report: BenchReport, options: TargetOptions = {}): TargetResult[] {
  const totalVsFloor = options.totalVsFloor ?? limits.totalVsFloor;
  const byId = new Map(report.patterns.map((pattern) => [pattern.id, pattern]));
  const handover = byId.get('handover');
  const floor = byId.get('floor');
  const zstd = byId.get('zstd');
  const documented = byId.get('documented');
  const results: TargetResult[] = [];
  const missing = handover === undefined ? 'handover not run' : (handover.reason ?? `handover ${handover.status}`);

  const compare = (id: string, target: string, other: PatternSummary | undefined, check: (h: PatternSummary, o: PatternSummary) => TargetResult) => {
    if (handover === undefined || !ok(handover)) results.push(notAvailable(id, target, missing));
    else if (other === undefined || !ok(other)) results.push(notAvailable(id, target, `${other?.id ?? 'reference'} not measured`));
    else results.push(check(handover, other));
  };

  compare('total-vs-floor', `handover total ≤ ${totalVsFloor} × engine floor total`, floor, (h, o) => {
    const r = h.totalMs / o.totalMs;
    return { id: 'total-vs-floor', target: `handover total ≤ ${totalVsFloor} × engine floor total`, measured: `${seconds(h.totalMs)} s / ${seconds(o.totalMs)} s = ${ratio(r)}`, verdict: verdict(r <= totalVsFloor) };
  });
  compare('total-vs-zstd', `handover total ≤ ${limits.totalVsZstd} × zstd pipeline total`, zstd, (h, o) => {
    const r = h.totalMs / o.totalMs;
    return { id: 'total-vs-zstd', target: `handover total ≤ ${limits.totalVsZstd} × zstd pipeline total`, measured: `${seconds(h.totalMs)} s / ${seconds(o.totalMs)} s = ${ratio(r)}`, verdict: verdict(r <= limits.totalVsZstd) };
  });
  compare('speedup-vs-documented', `≥ ${limits.speedupVsDocumented} × faster than Docker's documented pattern`, documented, (h, o) => {
    const r = o.totalMs / h.totalMs;
    return { id: 'speedup-vs-documented', target: `≥ ${limits.speedupVsDocumented} × faster than Docker's documented pattern`, measured: `${seconds(o.totalMs)} s / ${seconds(h.totalMs)} s = ${ratio(r)}`, verdict: verdict(r >= limits.speedupVsDocumented) };
  });
  if (options.storedVsZstdNotApplicable !== undefined) results.push(notAvailable('stored-vs-zstd', 'bytes stored ≤ zstd pipeline’s', options.storedVsZstdNotApplicable));
  else compare('stored-vs-zstd', 'bytes stored ≤ zstd pipeline’s', zstd, (h, o) => ({
    id: 'stored-vs-zstd',
    target: 'bytes stored ≤ zstd pipeline’s',
    measured: `${mebibytes(h.storedBytes)} MiB vs ${mebibytes(o.storedBytes)} MiB (${ratio(h.storedBytes / o.storedBytes)})`,
    verdict: verdict(h.storedBytes <= o.storedBytes),
  }));

  const rssTarget = `peak RSS ≤ ${limits.peakRssMiB} MiB`;
  if (handover === undefined || !ok(handover)) results.push(notAvailable('peak-rss', rssTarget, missing));
  else if (handover.peakRssKiB === undefined) results.push(notAvailable('peak-rss', rssTarget, 'RSS not measured'));
  else {
    results.push({
      id: 'peak-rss',
      target: rssTarget,
      measured: `${mebibytesFromKiB(handover.peakRssKiB)} MiB`,
      verdict: verdict(handover.peakRssKiB <= limits.peakRssMiB * 1024),
    });
  }

  const doubleTarget = `peak RSS grows ≤ ${limits.rssGrowthWhenDoubled * 100} % when the image doubles`;
  const doubling = report.rssDoubling;
  if (doubling === undefined) results.push(notAvailable('rss-double', doubleTarget, ok(handover) ? 'not run (--no-rss-double)' : missing));
  else {
    const growth = doubling.double.peakRssKiB / doubling.single.peakRssKiB - 1;
    results.push({
      id: 'rss-double',
      target: doubleTarget,
      measured: `${mebibytesFromKiB(doubling.single.peakRssKiB)} → ${mebibytesFromKiB(doubling.double.peakRssKiB)} MiB (${growth >= 0 ? '+' : ''}${percent(growth)}) for ${mebibytes(doubling.single.image.sizeBytes)} → ${mebibytes(doubling.double.image.sizeBytes)} MiB`,
      verdict: verdict(growth <= limits.rssGrowthWhenDoubled),
    });
  }

  const shareTarget = `second image adds ≤ ${limits.secondImageShare * 100} % of its size to a store holding the first`;
  const incremental = report.incremental.find((entry) => entry.id === 'handover');
  if (handover === undefined || !ok(handover) || incremental === undefined || incremental.status !== 'ok') {
    const why = !ok(handover) ? missing : incremental === undefined ? 'not run (--no-incremental)' : (incremental.reason ?? `handover ${incremental.status}`);
    results.push(notAvailable('second-image', shareTarget, why));
  } else {
    const share = incremental.storeBytesAdded / handover.storedBytes;
    results.push({
      id: 'second-image',
      target: shareTarget,
      measured: `${mebibytes(incremental.storeBytesAdded)} MiB of a ${mebibytes(handover.storedBytes)} MiB bundle = ${percent(share)}`,
      verdict: verdict(share <= limits.secondImageShare),
    });
  }
  return results;
}
