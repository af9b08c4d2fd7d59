/** The figures a bench run produces, as plain data the report renders. */

/**
 * CPU seconds one side used: the engine's (dockerd and the children it
 * reaped, such as its layer unpacker) and the side's commands' (every
 * process it ran, to their end).
 */
export interface SideCpu {
  engineS: number;
  commandsS: number;
}

export interface SideSample {
  wallMs: number;
  peakRssKiB?: number;
  bytesMoved?: number;
  cpu?: SideCpu;
}

export interface RoundSample {
  producer: SideSample;
  consumer: SideSample;
  storedBytes: number;
}

export type PatternStatus = 'ok' | 'unavailable' | 'failed';

export interface PatternInfo {
  id: string;
  label: string;
  producerCommand: string;
  consumerCommand: string;
  rssOf?: string;
}

export interface PatternResult extends PatternInfo {
  status: PatternStatus;
  reason?: string;
  rounds: RoundSample[];
}

export interface PatternSummary extends PatternInfo {
  status: PatternStatus;
  reason?: string;
  rounds: number;
  producerMs: number;
  consumerMs: number;
  /** Median of the per-round totals (not the sum of the two medians). */
  totalMs: number;
  storedBytes: number;
  /** The highest peak RSS seen on either side in any round. */
  peakRssKiB?: number;
  /** Medians of each side's CPU seconds, when the engines' processes could be read. */
  producerCpu?: SideCpu;
  consumerCpu?: SideCpu;
}

/** Exporting the second image into a store that holds the first, and loading it where the first is loaded. */
export interface IncrementalSample {
  storeBytesAdded: number;
  produceMs: number;
  consumeMs: number;
  bytesMoved?: number;
  bytesToEngine?: number;
}

export interface IncrementalResult extends PatternInfo {
  status: PatternStatus;
  reason?: string;
  samples: IncrementalSample[];
}

export interface IncrementalSummary extends PatternInfo {
  status: PatternStatus;
  reason?: string;
  storeBytesAdded: number;
  produceMs: number;
  consumeMs: number;
  bytesMoved?: number;
  bytesToEngine?: number;
}

export interface ImageFacts {
  ref: string;
  sizeBytes: number;
  layers: number;
}

export interface RssDoubling {
  single: { image: ImageFacts; peakRssKiB: number };
  double: { image: ImageFacts; peakRssKiB: number };
}

export interface MachineFacts {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  /** The engine kind of both engines (`--engine`); absent in reports from before it existed. */
  engineKind?: string;
  dockerd: string;
  storageDriver: string;
  filesystem: string;
  node: string;
  tools: Record<string, string>;
}

export interface BenchReport {
  command: string;
  startedAt: string;
  finishedAt: string;
  rounds: number;
  machine: MachineFacts;
  images: { first: ImageFacts; second: ImageFacts; double?: ImageFacts };
  patterns: PatternSummary[];
  incremental: IncrementalSummary[];
  rssDoubling?: RssDoubling;
  /** Median per-phase timings from `handover export|load --json`, in the CLI's own keys. */
  phases: { export: [string, number][]; load: [string, number][] };
  notes: string[];
}
