import { describe, expect, it } from 'vitest';
import { evaluateArtifactTargets, renderArtifactMarkdown, summarizeArtifact, type ArtifactReport, type ArtifactResult, type ArtifactRound } from '../../../bench/artifact/report.ts';

const MiB = 1024 * 1024;

function round(producerS: number, consumersS: number[], atOnceS: number, up: number, rss: [number, number]): ArtifactRound {
  const side = (s: number, kib: number, bytesDown: number) => ({ wallMs: s * 1000, rssKiB: { main: kib }, bytesDown });
  return {
    producer: { wallMs: producerS * 1000, rssKiB: { main: rss[0] }, bytesUp: up },
    consumers: consumersS.map((s) => side(s, rss[1], up)),
    parallel: { wallMs: atOnceS * 1000, sides: consumersS.map((s) => side(s, rss[1], up)) },
  };
}

function result(id: string, rounds: ArtifactRound[]): ArtifactResult {
  return { id, label: `${id} | label`, producerCommand: 'p', consumerCommand: 'c', status: 'ok', rounds };
}

function report(patterns: ArtifactResult[], double?: ArtifactRound[]): ArtifactReport {
  return {
    command: 'npm run bench -- --artifact-only',
    startedAt: '2026-11-30T06:00:00.000Z',
    finishedAt: '2026-11-30T06:20:00.000Z',
    rounds: 2,
    kind: '28-classic',
    engineVersion: '28.5.2',
    rates: { upMBps: 60, downMBps: 120 },
    cores: 2,
    load: { before: [1, 2, 3], after: [2, 2, 2] },
    image: { ref: 'bench/app:a', sizeBytes: 800 * MiB, layers: 5 },
    patterns,
    ...(double === undefined ? {} : { double: { image: { ref: 'bench/app-double:a', sizeBytes: 1600 * MiB, layers: 5 }, rounds: double } }),
  };
}

describe('the artifact path report', () => {
  const documented = result('documented', [round(60, [30, 32, 31, 29], 50, 330 * MiB, [200 * 1024, 190 * 1024]), round(62, [30, 30, 30, 30], 52, 330 * MiB, [201 * 1024, 190 * 1024])]);
  const zstd = result('zstd', [round(14, [10, 11, 10, 12], 20, 300 * MiB, [230 * 1024, 180 * 1024]), round(15, [10, 10, 10, 10], 21, 300 * MiB, [230 * 1024, 180 * 1024])]);
  const actions = result('actions', [round(9, [7, 7, 8, 7], 12, 299 * MiB, [110 * 1024, 100 * 1024]), round(10, [7, 7, 7, 7], 12, 299 * MiB, [112 * 1024, 101 * 1024])]);

  it('summarizes medians: one handover is the producer plus the median consumer; four in turn and at once', () => {
    const s = summarizeArtifact(zstd);
    expect(s.producerMs).toBe(14_500);
    expect(s.consumerMs).toBe(10_000);
    expect(s.totalMs).toBe(24_750);
    expect(s.fourSequentialMs).toBe(41_500);
    expect(s.fourAtOnceMs).toBe(20_500);
    expect(s.producerRssKiB).toBe(230 * 1024);
  });

  it("evaluates issue 14's targets from the same run", () => {
    const targets = evaluateArtifactTargets(report([documented, zstd, actions], [round(11, [8], 8, 600 * MiB, [115 * 1024, 105 * 1024])]));
    const byName = new Map(targets.map((t) => [t.name, t]));
    expect(byName.get('time against the zstd pipeline (one handover)')).toMatchObject({ measured: '0.67×', pass: true });
    expect(byName.get("speed-up over Docker's documented pattern")).toMatchObject({ measured: '5.53×', pass: true });
    expect(byName.get('peak RSS, producer (the export action)')).toMatchObject({ measured: '112 MiB', pass: true });
    expect(byName.get('peak RSS when the image doubles (bench/app-double:a)')?.pass).toBe(true);
    expect(byName.get('bytes uploaded against the zstd pipeline')?.pass).toBe(true);
    const slow = evaluateArtifactTargets(report([zstd, result('actions', [round(20, [10], 12, 310 * MiB, [140 * 1024, 100 * 1024])])]));
    expect(slow.find((t) => t.name.startsWith('time against'))?.pass).toBe(false);
    expect(slow.find((t) => t.name.startsWith('speed-up'))).toMatchObject({ measured: 'not run', pass: undefined });
    expect(slow.find((t) => t.name.startsWith('peak RSS, producer'))?.pass).toBe(false);
    expect(slow.find((t) => t.name.startsWith('bytes uploaded'))?.pass).toBe(false);
  });

  it('renders a Markdown table whose cells survive labels with pipes', () => {
    const markdown = renderArtifactMarkdown(report([documented, zstd, actions]), evaluateArtifactTargets(report([documented, zstd, actions])), 'artifact.svg');
    expect(markdown).toContain('| documented \\| label | 61.0 | 30.0 |');
    expect(markdown).toContain('| **actions \\| label** |');
    expect(markdown).toContain('![median wall clock per side](artifact.svg)');
    expect(markdown).toMatch(/60 MB\/s up, 120 MB\/s down/);
    expect(markdown).toContain('| time against the zstd pipeline (one handover) | ≤ 0.80× | 0.67× | PASS |');
  });
});
