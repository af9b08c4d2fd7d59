/**
 * One way of handing an image from the producer engine to the consumer
 * engine. The runner times produce() and consume() as the wall clock of the
 * whole side; everything else (prepare, betweenSides, cleanup) is untimed.
 */
import type { Engines } from '../engines.ts';
import type { BenchImage } from '../images.ts';
import type { SideCpu } from '../report/model.ts';

export interface HandoverCase {
  engines: Engines;
  image: BenchImage;
  /** Size of the image's `docker save` archive: what a load of the whole tar streams into the engine. */
  tarBytes: number;
  /** Distinguishes artifacts of several images in one store ("first", "second"). */
  key: string;
  /** Where the pattern keeps what it hands over: its "artifact store". Bytes stored are measured here. */
  storeDir: string;
  /** Scratch space for temporary files (an unzipped tar), not counted as stored. */
  tmpDir: string;
  /** Where raw outputs (RSS files, JSON) go. */
  rawDir: string;
  /** A snapshot of the built CLI (bin/, lib/, package.json) taken at the start of the run. */
  cliRoot: string;
}

export interface SideResult {
  wallMs: number;
  /** Peak RSS of the process that plays the handover's role on this side, in KiB. */
  peakRssKiB?: number;
  /** Bytes the consumer read from the store (consumer side only). */
  bytesMoved?: number;
  /** Bytes the consumer streamed into the engine (consumer side only). */
  bytesToEngine?: number;
  /** Anything the pattern reports about itself (handover --json). */
  details?: unknown;
  /** Set by the runner around produce() and consume(). */
  cpu?: SideCpu;
}

export interface Pattern {
  id: string;
  label: string;
  /** The commands, for the README and the report. */
  producerCommand: string;
  consumerCommand: string;
  /** The process whose peak RSS is reported, if any. */
  rssOf?: string;
  /** Undefined when the pattern can run here (with the CLI snapshot at cliRoot), else why not. */
  unavailable(cliRoot: string): Promise<string | undefined>;
  /** Untimed, once per run before any round. */
  setUp?(c: HandoverCase): Promise<void>;
  /** Untimed, before produce. */
  prepare?(c: HandoverCase): Promise<void>;
  produce(c: HandoverCase): Promise<SideResult>;
  /** Untimed, between the sides: what a CI runner change would drop (the producer's temp files). */
  betweenSides?(c: HandoverCase): Promise<void>;
  consume(c: HandoverCase): Promise<SideResult>;
  /** Untimed, after consume; the store stays. */
  cleanup?(c: HandoverCase): Promise<void>;
  /** Untimed, once per run after every round. */
  tearDown?(): Promise<void>;
}
