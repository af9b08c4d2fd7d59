/**
 * How long `handover check` takes on 50 workflow files: the corpus and the rule
 * fixtures, repeated under other names up to 50, checked in one process.
 * Prints the first (cold) run and the median of ten warm runs. Not a test:
 * timings on a shared machine vary; this is a measurement to quote.
 *
 *   node scripts/check-speed.ts            (Node 24, e.g. through npm exec)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkWorkflows } from '../src/workflow/check.ts';

const FILES = 50;
const root = new URL('../test/fixtures/workflows/', import.meta.url).pathname;
const sources = ['corpus', 'rules', 'pipeline', 'clean', 'migrate'].flatMap((dir) =>
  readdirSync(join(root, dir))
    .filter((name) => name.endsWith('.yml'))
    .map((name) => ({ path: `${dir}/${name}`, text: readFileSync(join(root, dir, name), 'utf8') })),
);
const inputs = Array.from({ length: FILES }, (_, index) => {
  const source = sources[index % sources.length];
  if (source === undefined) throw new Error('no workflow fixtures found');
  return { path: `${index}-${source.path}`, text: source.text };
});

/** Wall-clock and CPU milliseconds of one check of all the files (CPU time is what a busy shared machine inflates least). */
function time(): { ms: number; cpu: number; findings: number } {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const { findings } = checkWorkflows(inputs);
  const used = process.cpuUsage(cpu);
  return { ms: performance.now() - start, cpu: (used.user + used.system) / 1000, findings: findings.length };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return ((sorted[Math.floor((sorted.length - 1) / 2)] ?? 0) + (sorted[Math.ceil((sorted.length - 1) / 2)] ?? 0)) / 2;
};
const cold = time();
const warm = Array.from({ length: 10 }, time);
const lines = inputs.reduce((sum, input) => sum + input.text.split('\n').length, 0);
process.stdout.write(
  `check of ${FILES} workflow files (${lines} lines, ${cold.findings} findings): first run ${cold.ms.toFixed(0)} ms wall, ${cold.cpu.toFixed(0)} ms CPU; ` +
    `warm median ${median(warm.map((w) => w.ms)).toFixed(0)} ms wall, ${median(warm.map((w) => w.cpu)).toFixed(0)} ms CPU (load average ${loadavg()[0]?.toFixed(1) ?? '?'})\n`,
);
