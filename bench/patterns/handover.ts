import { readFileSync } from 'node:fs';
/**
 * The product: `handover export` on the producer into a local store, and
 * `handover load` from it on the consumer (verification included). Runs the
 * built CLI (bin/handover.js over lib/) with this Node, under GNU time for
 * the process's peak RSS. Its --json results are kept for the phase report.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { findNumber } from '../report/phases.ts';
import { q, run } from '../measure.ts';
import type { HandoverCase, Pattern, SideResult } from './pattern.ts';
import { onConsumer, onProducer, rssFile, rssPrefix, timedSide } from './shell.ts';

/** The Node flags bin/handover.js's shebang gives the CLI, so the bench runs it as a user's shell does. */
function shebangFlags(bin: string): string {
  return /^#!.*\bnode\b(.*)$/m.exec(readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '')?.[1]?.trim() ?? '';
}

function cli(c: HandoverCase): string {
  const bin = join(c.cliRoot, 'bin/handover.js');
  return `${q(process.execPath)} ${shebangFlags(bin)} ${q(bin)}`;
}

function parseJson(stdout: string): unknown {
  const text = stdout.trim();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Some CLIs print one JSON object per line: take the last one.
    const last = text.split('\n').at(-1) ?? '';
    try {
      return JSON.parse(last) as unknown;
    } catch {
      return { unparsed: text.slice(0, 2000) };
    }
  }
}

/** The bundle's blob bytes from each export (`bytes.stored`), by store and name: what a load reads. */
const bundleBytes = new Map<string, number>();

function bundleKey(c: HandoverCase): string {
  return `${c.storeDir}\0${c.key}`;
}

export const handoverPattern: Pattern = {
  id: 'handover',
  label: 'handover export / load (local store)',
  producerCommand: 'handover export IMAGE --store DIR --name bench --json',
  consumerCommand: 'handover load --name bench --store DIR --json',
  rssOf: 'handover (node)',
  async unavailable(cliRoot) {
    try {
      await access(join(cliRoot, 'lib/cli/process.js'));
    } catch {
      return 'lib/ is not built (npm run build)';
    }
    for (const verb of ['export', 'load']) {
      const help = await run(process.execPath, [join(cliRoot, 'bin/handover.js'), verb, '--help'], { allowFailure: true });
      if (help.exitCode !== 0) return `the CLI has no \`${verb}\` command yet`;
    }
    return undefined;
  },
  async produce(c) {
    const rss = rssFile(c, 'export');
    const side = await timedSide(
      `${rssPrefix(rss)} ${cli(c)} export ${q(c.image.ref)} --store ${q(c.storeDir)} --name ${q(`bench-${c.key}`)} --json`,
      onProducer(c),
      rss,
    );
    const details = parseJson(side.run.stdout);
    const result: SideResult = { wallMs: side.wallMs, details };
    if (side.peakRssKiB !== undefined) result.peakRssKiB = side.peakRssKiB;
    const stored = findNumber((details as { bytes?: unknown } | null)?.bytes, ['stored']);
    if (stored !== undefined) bundleBytes.set(bundleKey(c), stored);
    return result;
  },
  async consume(c) {
    const rss = rssFile(c, 'load');
    const side = await timedSide(
      `${rssPrefix(rss)} ${cli(c)} load --name ${q(`bench-${c.key}`)} --store ${q(c.storeDir)} --json`,
      onConsumer(c),
      rss,
    );
    const details = parseJson(side.run.stdout);
    const result: SideResult = { wallMs: side.wallMs, details };
    if (side.peakRssKiB !== undefined) result.peakRssKiB = side.peakRssKiB;
    // The load reads the bundle's blobs except those of layers the engine already holds (bytes.skipped, stored bytes).
    const bytes = (details as { bytes?: unknown } | null)?.bytes;
    const stored = bundleBytes.get(bundleKey(c));
    if (stored !== undefined) result.bytesMoved = stored - (findNumber(bytes, ['skipped']) ?? 0);
    const loaded = findNumber(bytes, ['loaded']);
    if (loaded !== undefined) result.bytesToEngine = loaded;
    return result;
  },
};
