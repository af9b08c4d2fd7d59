/**
 * The artifact path's figures: medians per pattern, issue 14's targets as
 * PASS/FAIL from the same run, and the Markdown report. Pure: unit-tested.
 */
import { mebibytes, seconds } from '../report/format.ts';
import type { PatternSummary } from '../report/model.ts';
import { median } from '../report/stats.ts';
import type { ArtifactSide } from './patterns.ts';

export interface ArtifactRound {
  producer: ArtifactSide & { bytesUp: number };
  /** The consumers one after another. */
  consumers: Array<ArtifactSide & { bytesDown: number }>;
  /** The same consumers all at once: the wall clock until the last one ends. */
  parallel: { wallMs: number; sides: Array<ArtifactSide & { bytesDown: number }> };
}

export interface ArtifactResult {
  id: string;
  label: string;
  producerCommand: string;
  consumerCommand: string;
  status: 'ok' | 'failed';
  reason?: string;
  rounds: ArtifactRound[];
}

export interface ArtifactReport {
  command: string;
  startedAt: string;
  finishedAt: string;
  rounds: number;
  kind: string;
  engineVersion: string;
  rates: { upMBps: number; downMBps: number };
  cores: number;
  load: { before: number[]; after: number[] };
  image: { ref: string; sizeBytes: number; layers: number };
  patterns: ArtifactResult[];
  /** The actions with the image whose large layers are twice the size: for the RSS check. */
  double?: { image: { ref: string; sizeBytes: number; layers: number }; rounds: ArtifactRound[] };
}

export interface ArtifactSummary {
  id: string;
  label: string;
  status: 'ok' | 'failed';
  reason?: string;
  producerMs: number;
  /** Median of every consumer run one after another. */
  consumerMs: number;
  /** Median over rounds of producer + that round's median consumer: one handover. */
  totalMs: number;
  /** Median over rounds of the four consumers one after another. */
  fourSequentialMs: number;
  /** Median over rounds of the four consumers at once. */
  fourAtOnceMs: number;
  /** Median bytes the producer sent, and one consumer received, across the link. */
  bytesUp: number;
  bytesDown: number;
  /** The highest peak RSS of any measured process of each side. */
  producerRssKiB: number | undefined;
  consumerRssKiB: number | undefined;
  /** For the shared chart. */
  chart: PatternSummary;
}

function peak(sides: readonly ArtifactSide[]): number | undefined {
  const values = sides.flatMap((side) => Object.values(side.rssKiB));
  return values.length === 0 ? undefined : Math.max(...values);
}

export function summarizeRounds(rounds: readonly ArtifactRound[]): Omit<ArtifactSummary, 'id' | 'label' | 'status' | 'reason' | 'chart'> {
  const consumers = rounds.flatMap((r) => r.consumers);
  return {
    producerMs: median(rounds.map((r) => r.producer.wallMs)),
    consumerMs: median(consumers.map((s) => s.wallMs)),
    totalMs: median(rounds.map((r) => r.producer.wallMs + median(r.consumers.map((s) => s.wallMs)))),
    fourSequentialMs: median(rounds.map((r) => r.consumers.reduce((sum, s) => sum + s.wallMs, 0))),
    fourAtOnceMs: median(rounds.map((r) => r.parallel.wallMs)),
    bytesUp: median(rounds.map((r) => r.producer.bytesUp)),
    bytesDown: median(consumers.map((s) => s.bytesDown)),
    producerRssKiB: peak(rounds.map((r) => r.producer)),
    consumerRssKiB: peak(rounds.flatMap((r) => [...r.consumers, ...r.parallel.sides])),
  };
}

export function summarizeArtifact(result: ArtifactResult): ArtifactSummary {
  const figures = result.rounds.length === 0 ? undefined : summarizeRounds(result.rounds);
  const base = {
    producerMs: figures?.producerMs ?? 0,
    consumerMs: figures?.consumerMs ?? 0,
    totalMs: figures?.totalMs ?? 0,
  };
  const chart: PatternSummary = {
    id: result.id,
    label: result.label,
    producerCommand: result.producerCommand,
    consumerCommand: result.consumerCommand,
    status: figures === undefined ? 'failed' : 'ok',
    rounds: result.rounds.length,
    ...base,
    storedBytes: figures?.bytesUp ?? 0,
    ...(result.reason === undefined ? {} : { reason: result.reason }),
  };
  return {
    id: result.id,
    label: result.label,
    status: result.status,
    ...(result.reason === undefined ? {} : { reason: result.reason }),
    ...base,
    fourSequentialMs: figures?.fourSequentialMs ?? 0,
    fourAtOnceMs: figures?.fourAtOnceMs ?? 0,
    bytesUp: figures?.bytesUp ?? 0,
    bytesDown: figures?.bytesDown ?? 0,
    producerRssKiB: figures?.producerRssKiB,
    consumerRssKiB: figures?.consumerRssKiB,
    chart,
  };
}

export interface ArtifactTarget {
  name: string;
  target: string;
  measured: string;
  pass: boolean | undefined;
}

const RSS_LIMIT_KIB = 128 * 1024;

/** Issue 14's targets, from one run. Undefined pass: not measured in this run. */
export function evaluateArtifactTargets(report: ArtifactReport): ArtifactTarget[] {
  const byId = new Map(report.patterns.filter((p) => p.rounds.length > 0).map((p) => [p.id, summarizeArtifact(p)]));
  const ours = byId.get('actions');
  const zstd = byId.get('zstd');
  const documented = byId.get('documented');
  const targets: ArtifactTarget[] = [];
  const ratio = (a: number, b: number): number => a / b;
  targets.push(
    ours !== undefined && zstd !== undefined
      ? { name: 'time against the zstd pipeline (one handover)', target: '≤ 0.80×', measured: `${ratio(ours.totalMs, zstd.totalMs).toFixed(2)}×`, pass: ours.totalMs <= 0.8 * zstd.totalMs }
      : { name: 'time against the zstd pipeline (one handover)', target: '≤ 0.80×', measured: 'not run', pass: undefined },
  );
  targets.push(
    ours !== undefined && documented !== undefined
      ? { name: "speed-up over Docker's documented pattern", target: '≥ 4×', measured: `${ratio(documented.totalMs, ours.totalMs).toFixed(2)}×`, pass: documented.totalMs >= 4 * ours.totalMs }
      : { name: "speed-up over Docker's documented pattern", target: '≥ 4×', measured: 'not run', pass: undefined },
  );
  for (const [side, value] of [['producer', ours?.producerRssKiB], ['consumer', ours?.consumerRssKiB]] as const) {
    targets.push({
      name: `peak RSS, ${side} (the ${side === 'producer' ? 'export' : 'load'} action)`,
      target: '≤ 128 MiB',
      measured: value === undefined ? 'not measured' : `${(value / 1024).toFixed(0)} MiB`,
      pass: value === undefined ? undefined : value <= RSS_LIMIT_KIB,
    });
  }
  if (ours !== undefined && report.double !== undefined && report.double.rounds.length > 0) {
    const single = Math.max(ours.producerRssKiB ?? 0, ours.consumerRssKiB ?? 0);
    const doubled = summarizeRounds(report.double.rounds);
    const twice = Math.max(doubled.producerRssKiB ?? 0, doubled.consumerRssKiB ?? 0);
    const growth = single === 0 ? 0 : (twice - single) / single;
    targets.push({ name: `peak RSS when the image doubles (${report.double.image.ref})`, target: '+≤ 10 %', measured: `${(single / 1024).toFixed(0)} → ${(twice / 1024).toFixed(0)} MiB (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)} %)`, pass: growth <= 0.1 });
  } else {
    targets.push({ name: 'peak RSS when the image doubles', target: '+≤ 10 %', measured: 'not run', pass: undefined });
  }
  targets.push(
    ours !== undefined && zstd !== undefined
      ? { name: 'bytes uploaded against the zstd pipeline', target: '≤ 1.00×', measured: `${mebibytes(ours.bytesUp)} / ${mebibytes(zstd.bytesUp)} MiB (${ratio(ours.bytesUp, zstd.bytesUp).toFixed(3)}×)`, pass: ours.bytesUp <= zstd.bytesUp }
      : { name: 'bytes uploaded against the zstd pipeline', target: '≤ 1.00×', measured: 'not run', pass: undefined },
  );
  return targets;
}

function rss(kib: number | undefined): string {
  return kib === undefined ? '—' : (kib / 1024).toFixed(0);
}

/** The report in Markdown; `chart` is the SVG's file name beside it, if any. */
export function renderArtifactMarkdown(report: ArtifactReport, targets: readonly ArtifactTarget[], chart: string | undefined): string {
  const summaries = report.patterns.map(summarizeArtifact);
  const lines: string[] = [];
  lines.push(`# Through the artifact service: \`${report.command}\``, '');
  lines.push(
    `${report.startedAt.slice(0, 16).replace('T', ' ')}–${report.finishedAt.slice(11, 16)} UTC; ${report.rounds} round${report.rounds === 1 ? '' : 's'}; ` +
      `engines: Docker ${report.engineVersion} (\`${report.kind}\`), one producer and four consumers; ` +
      `each runner's link to blob storage ${report.rates.upMBps} MB/s up, ${report.rates.downMBps} MB/s down; ` +
      `image \`${report.image.ref}\` (${mebibytes(report.image.sizeBytes)} MiB, ${report.image.layers} layers); ` +
      `${report.cores} cores, load average ${report.load.before.map((v) => v.toFixed(1)).join('/')} at the start, ${report.load.after.map((v) => v.toFixed(1)).join('/')} at the end.`,
    '',
  );
  lines.push('| pattern | producer s | consumer s | total s | 4 consumers in turn s | 4 at once s | uploaded MiB | downloaded MiB (each) | peak RSS MiB producer / consumer |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const s of summaries) {
    if (s.status !== 'ok' && s.producerMs === 0) {
      lines.push(`| ${s.label.replaceAll('|', '\\|')} | failed: ${(s.reason ?? '?').replaceAll('|', '\\|')} | | | | | | | |`);
      continue;
    }
    const label = s.label.replaceAll('|', '\\|');
    const name = s.id === 'actions' ? `**${label}**` : label;
    lines.push(
      `| ${name} | ${seconds(s.producerMs)} | ${seconds(s.consumerMs)} | ${seconds(s.totalMs)} | ${seconds(s.fourSequentialMs)} | ${seconds(s.fourAtOnceMs)} | ${mebibytes(s.bytesUp)} | ${mebibytes(s.bytesDown)} | ${rss(s.producerRssKiB)} / ${rss(s.consumerRssKiB)} |`,
    );
  }
  lines.push('');
  if (chart !== undefined) lines.push(`![median wall clock per side](${chart})`, '');
  lines.push('| target (issue 14) | aim | measured | |', '|---|---|---|---|');
  for (const t of targets) lines.push(`| ${t.name} | ${t.target} | ${t.measured} | ${t.pass === undefined ? '—' : t.pass ? 'PASS' : 'FAIL'} |`);
  lines.push('');
  lines.push('What each pattern runs:', '');
  for (const p of report.patterns) lines.push(`- **${p.id}**: producer \`${p.producerCommand}\`; consumer \`${p.consumerCommand}\`.`);
  lines.push(
    '',
    'Total is one handover: the producer side plus the median consumer. "In turn" is the four consumers one after another; "at once" the four together (as the plan\'s jobs run), until the last ends. ' +
      'Every side is the wall clock of its whole script in a fresh runner job (its own link, its own RUNNER_TEMP): the upload or download included. Each consumer engine is emptied before its side and checked after it to hold the producer\'s image id under its tag. ' +
      'Peak RSS is GNU time\'s of each process the side runs that plays the handover\'s role (the actions; @actions/artifact\'s client, zstd), the highest of them.',
    '',
  );
  return lines.join('\n');
}
