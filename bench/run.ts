/**
 * `npm run bench`: builds the bench images, hands them from a producer
 * engine to a consumer engine with every pattern, several rounds side by
 * side, and writes the report (bench/results/latest.md, latest.svg).
 *
 *   npm run bench -- [--engine 20.10|28-classic|28-containerd|podman]
 *                    [--rounds N] [--only floor,zstd,...] [--fresh]
 *                    [--no-incremental] [--no-rss-double] [--no-build]
 *                    [--keep-engines] [--work-dir DIR] [--out DIR]
 *                    [--no-artifact | --artifact-only] [--up MB/s] [--down MB/s] [--artifact-kind KIND]
 */
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { enginesBase, holdsSameImage, parseEngineKind, resultsDir, targetOptions, type BenchEngineKind, type HeldImage } from './engine-kind.ts';
import { docker, emptyEngine, imageLayerCount, startEngines, stopEngines, type Engines } from './engines.ts';
import { ensureImages, type BenchImage } from './images.ts';
import { cpuSeconds, run, sh, sizeOf } from './measure.ts';
import { documentedPattern } from './patterns/documented.ts';
import { floorPattern } from './patterns/floor.ts';
import { gzipPattern, zstdPattern } from './patterns/compressed.ts';
import { handoverPattern } from './patterns/handover.ts';
import type { HandoverCase, Pattern, SideResult } from './patterns/pattern.ts';
import { registryPattern } from './patterns/registry.ts';
import { mebibytes } from './report/format.ts';
import { renderMarkdown } from './report/markdown.ts';
import type { BenchReport, ImageFacts, IncrementalResult, MachineFacts, PatternResult, RssDoubling } from './report/model.ts';
import { phaseTimings } from './report/phases.ts';
import { medianPhases, summarizeIncremental, summarizePattern } from './report/stats.ts';
import { renderSvg } from './report/svg.ts';
import { cpuRows, incrementalRows, patternRows, phaseRows, renderText, targetRows } from './report/table.ts';
import { evaluateTargets } from './report/targets.ts';
import { runArtifactBench } from './artifact/run-artifact.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const allPatterns: readonly Pattern[] = [floorPattern, documentedPattern, gzipPattern, zstdPattern, registryPattern, handoverPattern];
const incrementalIds = new Set(['floor', 'zstd', 'registry', 'handover']);
/** The --json results of every handover round, for the phase report. */
const handoverDetails: { export: unknown; load: unknown }[] = [];

interface Options {
  engine: BenchEngineKind;
  rounds: number;
  only: Set<string> | undefined;
  fresh: boolean;
  incremental: boolean;
  rssDouble: boolean;
  build: boolean;
  keepEngines: boolean;
  workDir: string;
  outDir: string;
  /** The artifact path (bench/artifact/): after the local patterns, instead of them, or not at all. */
  artifact: 'also' | 'only' | 'no';
  upMBps: number;
  downMBps: number;
  artifactKind: string;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      engine: { type: 'string', default: '20.10' },
      rounds: { type: 'string', default: '3' },
      only: { type: 'string' },
      fresh: { type: 'boolean', default: false },
      'no-incremental': { type: 'boolean', default: false },
      'no-rss-double': { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      'keep-engines': { type: 'boolean', default: false },
      'work-dir': { type: 'string', default: '/var/tmp/handover-bench' },
      out: { type: 'string' },
      'no-artifact': { type: 'boolean', default: false },
      'artifact-only': { type: 'boolean', default: false },
      up: { type: 'string', default: '60' },
      down: { type: 'string', default: '120' },
      'artifact-kind': { type: 'string', default: '28-classic' },
    },
  });
  const rate = (flag: string, value: string): number => {
    const parsed = Number(value);
    if (!(parsed > 0)) throw new Error(`--${flag} wants MB/s above 0, got '${value}'`);
    return parsed;
  };
  const rounds = Number.parseInt(values.rounds, 10);
  if (!(rounds >= 1)) throw new Error(`--rounds wants a positive whole number, got '${values.rounds}'`);
  const only = values.only === undefined ? undefined : new Set(values.only.split(',').map((id) => id.trim()));
  for (const id of only ?? []) {
    if (!allPatterns.some((pattern) => pattern.id === id)) {
      throw new Error(`--only: unknown pattern '${id}' (known: ${allPatterns.map((pattern) => pattern.id).join(', ')})`);
    }
  }
  const engine = parseEngineKind(values.engine);
  return {
    engine,
    rounds,
    only,
    fresh: values.fresh,
    incremental: !values['no-incremental'],
    rssDouble: !values['no-rss-double'],
    build: !values['no-build'],
    keepEngines: values['keep-engines'],
    workDir: resolve(values['work-dir']),
    outDir: resolve(values.out ?? resultsDir(join(repoRoot, 'bench/results'), engine)),
    artifact: values['artifact-only'] ? 'only' : values['no-artifact'] ? 'no' : 'also',
    upMBps: rate('up', values.up),
    downMBps: rate('down', values.down),
    artifactKind: values['artifact-kind'],
  };
}

function log(line: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** Installs what the patterns need when it is missing (as root, with apt-get), or says what is missing. */
async function ensureTools(): Promise<void> {
  const needed: [string, string][] = [
    ['zstd', 'zstd'],
    ['gzip', 'gzip'],
    ['zip', 'zip'],
    ['unzip', 'unzip'],
    ['/usr/bin/time', 'time'],
    ['docker', 'docker.io'],
    ['dockerd', 'docker.io'],
  ];
  const missing: string[] = [];
  for (const [tool, pkg] of needed) {
    const found = await sh(`command -v ${tool}`, { allowFailure: true });
    if (found.exitCode !== 0 && !missing.includes(pkg)) missing.push(pkg);
  }
  if (missing.length === 0) return;
  if (process.getuid?.() === 0) {
    log(`installing ${missing.join(' ')} with apt-get`);
    const installed = await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], {
      allowFailure: true,
      env: { DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (installed.exitCode === 0) return;
  }
  throw new Error(`the bench needs these Debian packages: ${missing.join(' ')} (apt-get install ${missing.join(' ')})`);
}

async function firstLine(script: string): Promise<string> {
  const result = await sh(script, { allowFailure: true });
  return (result.stdout + result.stderr).trim().split('\n')[0]?.trim() ?? '?';
}

async function machineFacts(engines: Engines, workDir: string): Promise<MachineFacts> {
  return {
    cpu: (await firstLine("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2")) || 'unknown CPU',
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    engineKind: engines.kind,
    dockerd: (await docker(engines.producer, ['version', '-f', '{{.Server.Version}}'])).stdout.trim(),
    storageDriver: (await docker(engines.producer, ['info', '-f', '{{.Driver}}'])).stdout.trim(),
    filesystem: await firstLine(`findmnt -no FSTYPE -T ${workDir} || stat -f -c %T ${workDir}`),
    node: process.version,
    tools: {
      zstd: (await firstLine('zstd --version')).replace(/^\*+ Zstandard CLI \(64-bit\) /, '').replace(/, by.*$/, ''),
      gzip: await firstLine('gzip --version'),
      zip: (await firstLine("zip -v | sed -n 2p")).replace(/^This is /, '').replace(/ \(.*$/, ''),
      'docker-registry': await firstLine('/usr/bin/docker-registry --version 2>&1 | cut -d" " -f3'),
    },
  };
}

/**
 * Copies the built CLI (bin/, lib/, package.json) under the results' raw/
 * folder (inside the repository, so lib/ still resolves node_modules): the
 * tree is shared, and a rebuild by someone else mid-run must not change
 * what the handover pattern measures.
 */
async function snapshotCli(outDir: string): Promise<string> {
  const cliRoot = join(outDir, 'raw', 'cli');
  await rm(cliRoot, { recursive: true, force: true });
  await mkdir(cliRoot, { recursive: true });
  for (const entry of ['bin', 'lib', 'package.json']) {
    // Only what runs: declarations would be picked up by the project's tsc (bench/ is in its include).
    const filter = (source: string) => !source.endsWith('.d.ts') && !source.endsWith('.map');
    await cp(join(repoRoot, entry), join(cliRoot, entry), { recursive: true, filter }).catch(() => undefined);
  }
  return cliRoot;
}

async function imageFacts(host: string, image: BenchImage): Promise<ImageFacts> {
  return { ref: image.ref, sizeBytes: image.sizeBytes, layers: await imageLayerCount(host, image.ref) };
}

class Runner {
  readonly engines: Engines;
  readonly workDir: string;
  readonly ids = new Map<string, HeldImage>();

  readonly cliRoot: string;

  constructor(engines: Engines, workDir: string, cliRoot: string) {
    this.engines = engines;
    this.workDir = workDir;
    this.cliRoot = cliRoot;
  }

  readonly tarBytes = new Map<string, number>();

  /** Measures each image's `docker save` size once, untimed; this also warms the page cache. */
  async measureArchive(image: BenchImage): Promise<void> {
    const { stdout } = await sh(`docker save ${image.ref} | wc -c`, { env: { DOCKER_HOST: this.engines.producer } });
    this.tarBytes.set(image.ref, Number.parseInt(stdout.trim(), 10));
  }

  async freshCase(pattern: Pattern, image: BenchImage, key: string, reuseStore = false): Promise<HandoverCase> {
    const base = join(this.workDir, 'runs', pattern.id);
    const storeDir = join(base, 'store');
    const tmpDir = join(base, 'tmp');
    const rawDir = join(this.workDir, 'raw', pattern.id);
    if (!reuseStore) await rm(base, { recursive: true, force: true });
    await mkdir(storeDir, { recursive: true });
    await mkdir(tmpDir, { recursive: true });
    await mkdir(rawDir, { recursive: true });
    if (!this.tarBytes.has(image.ref)) await this.measureArchive(image);
    return { engines: this.engines, image, tarBytes: this.tarBytes.get(image.ref) ?? 0, key, storeDir, tmpDir, rawDir, cliRoot: this.cliRoot };
  }

  async producerImage(ref: string): Promise<HeldImage> {
    let image = this.ids.get(ref);
    if (image === undefined) {
      image = await heldImage(this.engines.producer, ref);
      this.ids.set(ref, image);
    }
    return image;
  }

  /** The consumer must now hold the producer's image under its tag (as its kind names it), or the side did not do its work. */
  async verifyConsumer(c: HandoverCase): Promise<void> {
    const held = await heldImage(this.engines.consumer, c.image.ref).catch(() => ({ id: 'nothing', diffIds: '' }));
    const expected = await this.producerImage(c.image.ref);
    if (!holdsSameImage(this.engines.kind, expected, held)) {
      throw new Error(`after the load the consumer holds ${held.id} as ${c.image.ref}, expected ${expected.id}`);
    }
  }

  /** One whole handover: untimed preparation, timed producer, untimed switch, timed consumer, verification. */
  async handover(pattern: Pattern, c: HandoverCase): Promise<{ producer: SideResult; consumer: SideResult; storeBytesAdded: number }> {
    const before = await sizeOf(c.storeDir);
    await pattern.prepare?.(c);
    // Untimed: no side pays for writing back what an earlier one left dirty.
    await sh('sync');
    const producer = await metered(this.engines.producerPid, () => pattern.produce(c));
    const storeBytesAdded = (await sizeOf(c.storeDir)) - before;
    await pattern.betweenSides?.(c);
    await sh('sync');
    const consumer = await metered(this.engines.consumerPid, () => pattern.consume(c));
    await this.verifyConsumer(c);
    await pattern.cleanup?.(c);
    return { producer, consumer, storeBytesAdded };
  }
}

async function heldImage(host: string, ref: string): Promise<HeldImage> {
  const [id = '', diffIds = ''] = (await docker(host, ['image', 'inspect', '-f', '{{.Id}} {{json .RootFS.Layers}}', ref])).stdout.trim().split(' ');
  return { id, diffIds };
}

/** Runs one side and adds the CPU seconds its engine and its commands used meanwhile. */
async function metered(enginePid: number | undefined, side: () => Promise<SideResult>): Promise<SideResult> {
  const engineBefore = enginePid === undefined ? undefined : await cpuSeconds(enginePid);
  const commandsBefore = await cpuSeconds('self', 'children');
  const result = await side();
  const commandsAfter = await cpuSeconds('self', 'children');
  const engineAfter = enginePid === undefined ? undefined : await cpuSeconds(enginePid);
  if (engineBefore === undefined || engineAfter === undefined || commandsBefore === undefined || commandsAfter === undefined) return result;
  return { ...result, cpu: { engineS: engineAfter - engineBefore, commandsS: commandsAfter - commandsBefore } };
}

function sample(side: SideResult) {
  return {
    wallMs: side.wallMs,
    ...(side.cpu === undefined ? {} : { cpu: side.cpu }),
    ...(side.peakRssKiB === undefined ? {} : { peakRssKiB: side.peakRssKiB }),
    ...(side.bytesMoved === undefined ? {} : { bytesMoved: side.bytesMoved }),
  };
}

function info(pattern: Pattern) {
  return {
    id: pattern.id,
    label: pattern.label,
    producerCommand: pattern.producerCommand,
    consumerCommand: pattern.consumerCommand,
    ...(pattern.rssOf === undefined ? {} : { rssOf: pattern.rssOf }),
  };
}

function reasonOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]?.slice(0, 300) ?? 'unknown';
}

async function main(argv: string[]): Promise<void> {
  const options = parseOptions(argv);
  const startedAt = new Date().toISOString();
  const loadBefore = loadavg();
  await ensureTools();
  const base = enginesBase(options.workDir, options.engine);
  if (options.fresh) {
    log('--fresh: removing the engines, their data and the build contexts');
    await run('bash', [join(repoRoot, 'scripts/engines.sh'), 'stop', base]);
    await rm(join(options.workDir, 'context-1'), { recursive: true, force: true });
    await rm(join(options.workDir, 'context-2'), { recursive: true, force: true });
  }
  await mkdir(options.workDir, { recursive: true });
  const notes: string[] = [];
  if (options.build) {
    log('npm run build (for bin/handover.js)');
    const built = await run('npm', ['run', 'build', '--silent'], { cwd: repoRoot, allowFailure: true });
    if (built.exitCode !== 0) notes.push(`\`npm run build\` failed, so the handover pattern ran whatever lib/ held: ${reasonOf(built.stdout + built.stderr)}`);
  }
  const artifactPath = async (): Promise<void> => {
    if (options.artifact === 'no') return;
    await runArtifactBench({
      repoRoot,
      workDir: options.workDir,
      outDir: options.outDir,
      rounds: options.rounds,
      upMBps: options.upMBps,
      downMBps: options.downMBps,
      kind: options.artifactKind,
      only: undefined,
      rssDouble: options.rssDouble,
      command: `npm run bench${argv.length === 0 ? '' : ` -- ${argv.join(' ')}`}`,
      log,
    });
  };
  if (options.artifact === 'only') {
    await artifactPath();
    return;
  }
  const cliRoot = await snapshotCli(options.outDir);
  const revision = await firstLine(`git -C ${repoRoot} rev-parse --short HEAD`);
  const dirty = (await sh(`git -C ${repoRoot} status --porcelain -- src`, { allowFailure: true })).stdout.trim() !== '';
  notes.push(`The handover CLI is \`npm run build\` of commit ${revision}${dirty ? ' with uncommitted changes under src/' : ''}, copied to results/raw/cli at the start so that rebuilds during the run do not change it.`);
  const engines = await startEngines(repoRoot, base, options.engine);
  log(`engines (${options.engine}): producer ${engines.producer}, consumer ${engines.consumer}${engines.startedHere ? '' : ' (already running)'}`);
  try {
    const selected = allPatterns.filter((pattern) => options.only === undefined || options.only.has(pattern.id));
    const results = new Map<string, PatternResult>();
    const available: Pattern[] = [];
    for (const pattern of selected) {
      const why = await pattern.unavailable(cliRoot);
      results.set(pattern.id, { ...info(pattern), status: why === undefined ? 'ok' : 'unavailable', ...(why === undefined ? {} : { reason: why }), rounds: [] });
      if (why === undefined) available.push(pattern);
      else log(`${pattern.id}: not available: ${why}`);
    }
    const wantDouble = options.rssDouble && available.some((pattern) => pattern.id === 'handover');
    const images = await ensureImages(engines.producer, options.workDir, { double: wantDouble }, log);
    await docker(engines.producer, ['image', 'prune', '-f'], true);
    const runner = new Runner(engines, options.workDir, cliRoot);

    log('warming the page cache: docker save of each image, counting its bytes (untimed)');
    for (const image of [images.first, images.second]) await runner.measureArchive(image);

    for (let round = 0; round < options.rounds; round++) {
      // Rotate the order so no pattern always runs first (or right after the heaviest one).
      const order = available.map((_, i) => available[(i + round) % available.length]).filter((p): p is Pattern => p !== undefined);
      for (const pattern of order) {
        const result = results.get(pattern.id);
        if (result === undefined || result.status !== 'ok') continue;
        try {
          await emptyEngine(engines.consumer);
          const c = await runner.freshCase(pattern, images.first, 'first');
          const { producer, consumer } = await runner.handover(pattern, c);
          const storedBytes = await sizeOf(c.storeDir);
          result.rounds.push({ producer: sample(producer), consumer: sample(consumer), storedBytes });
          if (pattern.id === 'handover') handoverDetails.push({ export: producer.details, load: consumer.details });
          log(`round ${round + 1}/${options.rounds} ${pattern.id}: producer ${(producer.wallMs / 1000).toFixed(1)} s, consumer ${(consumer.wallMs / 1000).toFixed(1)} s, stored ${mebibytes(storedBytes)} MiB`);
        } catch (error) {
          result.status = 'failed';
          result.reason = reasonOf(error);
          log(`round ${round + 1} ${pattern.id}: FAILED: ${result.reason}`);
        }
      }
    }

    const incremental: IncrementalResult[] = [];
    if (options.incremental) {
      for (const pattern of selected.filter((p) => incrementalIds.has(p.id))) {
        const mainResult = results.get(pattern.id);
        const entry: IncrementalResult = { ...info(pattern), status: mainResult?.status === 'ok' ? 'ok' : (mainResult?.status ?? 'unavailable'), samples: [] };
        if (mainResult?.reason !== undefined) entry.reason = mainResult.reason;
        incremental.push(entry);
        for (let round = 0; round < options.rounds && entry.status === 'ok'; round++) {
          try {
            await emptyEngine(engines.consumer);
            const first = await runner.freshCase(pattern, images.first, 'first');
            await runner.handover(pattern, first);
            const second = await runner.freshCase(pattern, images.second, 'second', true);
            const { producer, consumer, storeBytesAdded } = await runner.handover(pattern, second);
            entry.samples.push({
              storeBytesAdded,
              produceMs: producer.wallMs,
              consumeMs: consumer.wallMs,
              ...(consumer.bytesMoved === undefined ? {} : { bytesMoved: consumer.bytesMoved }),
              ...(consumer.bytesToEngine === undefined ? {} : { bytesToEngine: consumer.bytesToEngine }),
            });
            log(`incremental ${round + 1}/${options.rounds} ${pattern.id}: +${mebibytes(storeBytesAdded)} MiB, export ${(producer.wallMs / 1000).toFixed(1)} s, load ${(consumer.wallMs / 1000).toFixed(1)} s`);
          } catch (error) {
            entry.status = 'failed';
            entry.reason = reasonOf(error);
            log(`incremental ${pattern.id}: FAILED: ${entry.reason}`);
          }
        }
      }
    }

    let rssDoubling: RssDoubling | undefined;
    const handoverMain = results.get('handover');
    if (wantDouble && images.double !== undefined && handoverMain?.status === 'ok') {
      try {
        // As many handovers of the doubled image as rounds of the first; the highest peak of each is compared.
        const peaks: number[] = [];
        for (let round = 0; round < options.rounds; round++) {
          await emptyEngine(engines.consumer);
          const c = await runner.freshCase(handoverPattern, images.double, 'double');
          const { producer, consumer } = await runner.handover(handoverPattern, c);
          peaks.push(Math.max(producer.peakRssKiB ?? 0, consumer.peakRssKiB ?? 0));
          log(`rss ${round + 1}/${options.rounds}: ${(Math.max(...peaks) / 1024).toFixed(0)} MiB so far with ${images.double.ref}`);
        }
        const single = summarizePattern(handoverMain).peakRssKiB ?? 0;
        rssDoubling = {
          single: { image: await imageFacts(engines.producer, images.first), peakRssKiB: single },
          double: { image: await imageFacts(engines.producer, images.double), peakRssKiB: Math.max(...peaks) },
        };
        log(`rss: ${(rssDoubling.single.peakRssKiB / 1024).toFixed(0)} MiB -> ${(rssDoubling.double.peakRssKiB / 1024).toFixed(0)} MiB`);
      } catch (error) {
        notes.push(`The RSS doubling check failed: ${reasonOf(error)}`);
      }
    }

    await emptyEngine(engines.consumer);
    for (const pattern of selected) await pattern.tearDown?.();
    await rm(join(options.workDir, 'runs'), { recursive: true, force: true });
    const loadAfter = loadavg();
    notes.push(
      'Page cache: warm on both sides. Each image was saved once (untimed, counting its bytes) before the rounds; the floor loads a tar that is in the page cache; nothing drops caches (the machine is shared). Nothing is fsynced by the shell patterns.',
      'Transfer between runners (artifact upload/download, network) is not timed for any pattern: producer = engine to stored artifact, consumer = stored artifact to engine.',
      'Every side is the wall clock of its whole command (all processes of the pipeline). Between handovers the consumer engine is emptied (every image and layer removed), so each load is real.',
      `Load average (1, 5, 15 min) at start ${loadBefore.map((v) => v.toFixed(2)).join(', ')}, at end ${loadAfter.map((v) => v.toFixed(2)).join(', ')}: other work shares these ${availableParallelism()} cores, so absolute figures are noisy; ratios from the same run are the point.`,
    );

    const details = handoverDetails;
    const report: BenchReport = {
      command: `npm run bench${argv.length === 0 ? '' : ` -- ${argv.join(' ')}`}`,
      startedAt,
      finishedAt: new Date().toISOString(),
      rounds: options.rounds,
      machine: await machineFacts(engines, options.workDir),
      images: {
        first: await imageFacts(engines.producer, images.first),
        second: await imageFacts(engines.producer, images.second),
        ...(images.double === undefined ? {} : { double: await imageFacts(engines.producer, images.double) }),
      },
      patterns: [...results.values()].map(summarizePattern),
      incremental: incremental.map(summarizeIncremental),
      ...(rssDoubling === undefined ? {} : { rssDoubling }),
      phases: {
        export: medianPhases(details.map((d) => phaseTimings(d.export))),
        load: medianPhases(details.map((d) => phaseTimings(d.load))),
      },
      notes,
    };
    const targets = evaluateTargets(report, targetOptions(options.engine));
    process.stdout.write('\n' + renderText(patternRows(report.patterns)) + '\n');
    const cpu = cpuRows(report.patterns);
    if (cpu.length > 1) process.stdout.write(renderText(cpu) + '\n');
    if (report.incremental.length > 0) process.stdout.write(renderText(incrementalRows(report.incremental)) + '\n');
    process.stdout.write(renderText(targetRows(targets)) + '\n');
    if (report.phases.export.length + report.phases.load.length > 0) process.stdout.write(renderText(phaseRows(report.phases)) + '\n');

    await mkdir(join(options.outDir, 'raw'), { recursive: true });
    const chartTitle = `Handing over ${images.first.ref} (${mebibytes(images.first.sizeBytes)} MiB): median wall clock per side, ${options.rounds} round${options.rounds === 1 ? '' : 's'}`;
    await writeFile(join(options.outDir, 'latest.svg'), renderSvg(report.patterns, { title: chartTitle }));
    await writeFile(join(options.outDir, 'latest.md'), renderMarkdown(report, targets, 'latest.svg'));
    await writeFile(
      join(options.outDir, 'raw', 'latest.json'),
      JSON.stringify({ report, targets, rounds: [...results.values()], incremental, handoverDetails: details }, null, 2) + '\n',
    );
    log(`wrote ${join(options.outDir, 'latest.md')} and latest.svg`);
  } finally {
    for (const pattern of allPatterns) await pattern.tearDown?.();
    if (engines.startedHere && !options.keepEngines) {
      log('stopping the engines (their data roots stay for the next run)');
      await stopEngines(base);
    }
  }
  await artifactPath();
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  log(`failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
