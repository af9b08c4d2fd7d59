/** Medians and summaries of the per-round samples. */
import type { IncrementalResult, IncrementalSummary, PatternResult, PatternSummary, SideCpu, SideSample } from './model.ts';

/** The median; the mean of the middle two for an even count; NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[middle] ?? Number.NaN;
  return ((sorted[middle - 1] ?? Number.NaN) + (sorted[middle] ?? Number.NaN)) / 2;
}

function defined(values: readonly (number | undefined)[]): number[] {
  return values.filter((value): value is number => value !== undefined);
}

function info(result: PatternResult | IncrementalResult) {
  const { id, label, producerCommand, consumerCommand, rssOf, status, reason } = result;
  return {
    id,
    label,
    producerCommand,
    consumerCommand,
    status,
    ...(rssOf === undefined ? {} : { rssOf }),
    ...(reason === undefined ? {} : { reason }),
  };
}

function medianCpu(sides: readonly SideSample[]): SideCpu | undefined {
  const cpu = sides.map((side) => side.cpu).filter((value): value is SideCpu => value !== undefined);
  if (cpu.length === 0) return undefined;
  return { engineS: median(cpu.map((value) => value.engineS)), commandsS: median(cpu.map((value) => value.commandsS)) };
}

export function summarizePattern(result: PatternResult): PatternSummary {
  const rounds = result.rounds;
  const producerCpu = medianCpu(rounds.map((round) => round.producer));
  const consumerCpu = medianCpu(rounds.map((round) => round.consumer));
  const rss = defined(rounds.flatMap((round) => [round.producer.peakRssKiB, round.consumer.peakRssKiB]));
  return {
    ...info(result),
    rounds: rounds.length,
    producerMs: median(rounds.map((round) => round.producer.wallMs)),
    consumerMs: median(rounds.map((round) => round.consumer.wallMs)),
    totalMs: median(rounds.map((round) => round.producer.wallMs + round.consumer.wallMs)),
    storedBytes: median(rounds.map((round) => round.storedBytes)),
    ...(rss.length === 0 ? {} : { peakRssKiB: Math.max(...rss) }),
    ...(producerCpu === undefined ? {} : { producerCpu }),
    ...(consumerCpu === undefined ? {} : { consumerCpu }),
  };
}

export function summarizeIncremental(result: IncrementalResult): IncrementalSummary {
  const samples = result.samples;
  const moved = defined(samples.map((sample) => sample.bytesMoved));
  const toEngine = defined(samples.map((sample) => sample.bytesToEngine));
  return {
    ...info(result),
    storeBytesAdded: median(samples.map((sample) => sample.storeBytesAdded)),
    produceMs: median(samples.map((sample) => sample.produceMs)),
    consumeMs: median(samples.map((sample) => sample.consumeMs)),
    ...(moved.length === 0 ? {} : { bytesMoved: median(moved) }),
    ...(toEngine.length === 0 ? {} : { bytesToEngine: median(toEngine) }),
  };
}

/** Median per key over several phase maps; keys in first-seen order. */
export function medianPhases(runs: readonly Map<string, number>[]): [string, number][] {
  const keys: string[] = [];
  for (const run of runs) for (const key of run.keys()) if (!keys.includes(key)) keys.push(key);
  return keys.map((key) => [key, median(defined(runs.map((run) => run.get(key))))]);
}
