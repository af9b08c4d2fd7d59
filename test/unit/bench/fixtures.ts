import type { BenchReport, PatternSummary } from '../../../bench/report/model.ts';

const MiB = 1024 * 1024;

export function pattern(id: string, producerMs: number, consumerMs: number, storedBytes: number, extra: Partial<PatternSummary> = {}): PatternSummary {
  return {
    id,
    label: `${id} label`,
    producerCommand: `${id} produce`,
    consumerCommand: `${id} consume`,
    status: 'ok',
    rounds: 3,
    producerMs,
    consumerMs,
    totalMs: producerMs + consumerMs,
    storedBytes,
    ...extra,
  };
}

export function report(overrides: Partial<BenchReport> = {}): BenchReport {
  const image = { ref: 'bench/app:a', sizeBytes: 832e6, layers: 5 };
  return {
    command: 'npm run bench',
    startedAt: '2026-11-24T09:00:00.000Z',
    finishedAt: '2026-11-24T09:10:00.000Z',
    rounds: 3,
    machine: {
      cpu: 'AMD EPYC',
      cores: 2,
      memoryGiB: 24,
      kernel: '6.18',
      dockerd: '20.10.24',
      storageDriver: 'overlay2',
      filesystem: 'ext4',
      node: 'v24.21.0',
      tools: { zstd: 'v1.5.4' },
    },
    images: { first: image, second: { ...image, ref: 'bench/app:b' } },
    patterns: [
      pattern('floor', 5500, 6000, 842 * MiB),
      pattern('documented', 36000, 11500, 301 * MiB, { rssOf: 'zip / unzip', peakRssKiB: 2048 }),
      pattern('zstd', 6800, 5700, 278 * MiB, { rssOf: 'zstd', peakRssKiB: 60000 }),
      pattern('handover', 6000, 6300, 270 * MiB, { rssOf: 'handover (node)', peakRssKiB: 100 * 1024 }),
    ],
    incremental: [
      {
        id: 'handover',
        label: 'handover label',
        producerCommand: 'p',
        consumerCommand: 'c',
        status: 'ok',
        storeBytesAdded: 1 * MiB,
        produceMs: 900,
        consumeMs: 1200,
        bytesMoved: 1 * MiB,
        bytesToEngine: 843 * MiB,
      },
    ],
    phases: { export: [['timings.engineReadMs', 4000]], load: [] },
    notes: ['a note'],
    ...overrides,
  };
}
