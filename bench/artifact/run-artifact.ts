/**
 * The artifact path of `npm run bench`: one producer and the plan's four
 * consumers, each a runner job with its own network to blob storage (a
 * token-bucket link in front of Azurite: 60 MB/s up, 120 MB/s down by
 * default), the local artifact service of the tests behind them, and engines
 * of one kind (28-classic by default, as the DESIGN's anchors). Each
 * pattern runs in rounds, in rotating order: the producer, the four
 * consumers one after another, then the four at once.
 */
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { docker, emptyEngine, imageLayerCount, sleep } from '../engines.ts';
import { ensureImages, type BenchImage } from '../images.ts';
import { run, sh } from '../measure.ts';
import { renderSvg } from '../report/svg.ts';
import { startArtifactService, type ArtifactServiceHarness, type RunnerJob } from '../../test/support/artifact-service/index.ts';
import { artifactPatterns, freshDir, type ArtifactCase, type ArtifactPattern, type ArtifactSide } from './patterns.ts';
import { evaluateArtifactTargets, renderArtifactMarkdown, summarizeArtifact, type ArtifactReport, type ArtifactResult, type ArtifactRound } from './report.ts';

export interface ArtifactBenchOptions {
  repoRoot: string;
  workDir: string;
  outDir: string;
  rounds: number;
  /** Link rates per runner, MB/s (10^6 bytes). */
  upMBps: number;
  downMBps: number;
  /** The engines' kind (scripts/engines.sh kinds). */
  kind: string;
  /** Patterns to run (default all): documented, zstd, actions. */
  only: ReadonlySet<string> | undefined;
  /** Run the actions with the doubled image too, for the RSS check. */
  rssDouble: boolean;
  /** What `npm run bench` was given, for the report. */
  command: string;
  log: (line: string) => void;
}

const CONSUMERS = ['c1', 'c2', 'c3', 'c4'] as const;

interface ArtifactEngines {
  producer: string;
  consumers: string[];
  base: string;
  names: string[];
}

async function startArtifactEngines(repoRoot: string, base: string, kind: string): Promise<ArtifactEngines> {
  const names = ['p', ...CONSUMERS];
  const socket = (name: string): string => `unix://${join(base, name, kind === 'podman' ? 'podman.sock' : 'd.sock')}`;
  const answering = await Promise.all(names.map(async (name) => (await run('docker', ['-H', socket(name), 'version'], { allowFailure: true })).exitCode === 0));
  if (!answering.every(Boolean)) await run('bash', [join(repoRoot, 'scripts/engines.sh'), 'start', base, ...names.map((name) => `${name}=${kind}`)]);
  return { producer: socket('p'), consumers: CONSUMERS.map(socket), base, names };
}

/** Stops the engines by their launchers' pids, keeping their data roots (and the built images) for the next run. */
async function stopArtifactEngines(engines: ArtifactEngines): Promise<void> {
  const pids: number[] = [];
  for (const name of engines.names) {
    const pid = Number.parseInt(await readFile(join(engines.base, name, 'launcher.pid'), 'utf8').catch(() => ''), 10);
    if (Number.isInteger(pid) && pid > 0) pids.push(pid);
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  for (const pid of pids) {
    for (let i = 0; i < 150; i++) {
      try {
        process.kill(pid, 0);
      } catch {
        break;
      }
      await sleep(100);
    }
  }
}

async function imageId(host: string, ref: string): Promise<string> {
  return (await docker(host, ['image', 'inspect', '-f', '{{.Id}}', ref], true)).stdout.trim();
}

/** One handover through the service: the producer, the consumers one after another, then all at once. */
async function handover(
  harness: ArtifactServiceHarness,
  pattern: ArtifactPattern,
  image: BenchImage,
  engines: ArtifactEngines,
  dirs: { scratch: string; rawDir: string; actionsRoot: string },
  consumers: number,
): Promise<ArtifactRound> {
  const workflow = harness.createRun();
  const producer = await workflow.createJob('build-image');
  const c: ArtifactCase = { image, producerHost: engines.producer, producer, scratch: dirs.scratch, rawDir: dirs.rawDir, actionsRoot: dirs.actionsRoot, state: {} };
  const expected = await imageId(engines.producer, image.ref);
  const hosts = engines.consumers.slice(0, consumers);
  const check = async (host: string): Promise<void> => {
    const held = await imageId(host, image.ref);
    if (held !== expected) throw new Error(`after ${pattern.id}'s consumer side ${host} holds ${held || 'nothing'} as ${image.ref}, expected ${expected}`);
  };
  const consume = async (job: RunnerJob, host: string): Promise<ArtifactSide & { bytesDown: number }> => {
    const side = await pattern.consume(c, job, host);
    await check(host);
    return { ...side, bytesDown: job.link.bytesDown };
  };
  await sh('sync');
  const produced = await pattern.produce(c);
  const round: ArtifactRound = { producer: { ...produced, bytesUp: producer.link.bytesUp }, consumers: [], parallel: { wallMs: 0, sides: [] } };
  for (const [i, host] of hosts.entries()) {
    await emptyEngine(host);
    await sh('sync');
    round.consumers.push(await consume(await workflow.createJob(`integration-${i + 1}`), host));
  }
  await Promise.all(hosts.map(async (host) => await emptyEngine(host)));
  const jobs = await Promise.all(hosts.map(async (_, i) => await workflow.createJob(`at-once-${i + 1}`)));
  await sh('sync');
  const started = performance.now();
  round.parallel.sides = await Promise.all(hosts.map(async (host, i) => await consume(jobs[i]!, host)));
  round.parallel.wallMs = performance.now() - started;
  return round;
}

/** Copies the action bundles (export/, load/) so that a rebuild during the run does not change what is measured. */
async function snapshotActions(repoRoot: string, outDir: string): Promise<string> {
  const root = await freshDir(join(outDir, 'raw', 'actions'));
  for (const action of ['export', 'load']) await cp(join(repoRoot, action), join(root, action), { recursive: true });
  return root;
}

export async function runArtifactBench(options: ArtifactBenchOptions): Promise<void> {
  const { log } = options;
  const startedAt = new Date().toISOString();
  const loadBefore = loadavg();
  const patterns = artifactPatterns.filter((p) => options.only === undefined || options.only.has(p.id));
  const engines = await startArtifactEngines(options.repoRoot, join(options.workDir, 'artifact-engines'), options.kind);
  log(`artifact path: ${options.kind} engines p, ${CONSUMERS.join(', ')}; links ${options.upMBps} MB/s up, ${options.downMBps} MB/s down per runner`);
  let harness: ArtifactServiceHarness | undefined;
  try {
    const images = await ensureImages(engines.producer, options.workDir, { double: options.rssDouble }, log);
    await docker(engines.producer, ['image', 'prune', '-f'], true);
    harness = await startArtifactService({ link: { upBytesPerSecond: options.upMBps * 1e6, downBytesPerSecond: options.downMBps * 1e6 }, linkPerJob: true });
    const actionsRoot = await snapshotActions(options.repoRoot, options.outDir);
    const rawDir = await freshDir(join(options.outDir, 'raw', 'artifact'));
    const scratch = await freshDir(join(options.workDir, 'artifact-runs'));
    log('warming the page cache: docker save of the image (untimed)');
    await sh(`docker save ${images.first.ref} > /dev/null`, { env: { DOCKER_HOST: engines.producer } });

    const results = new Map<string, ArtifactResult>(patterns.map((p) => [p.id, { id: p.id, label: p.label, producerCommand: p.producerCommand, consumerCommand: p.consumerCommand, status: 'ok', rounds: [] }]));
    for (let round = 0; round < options.rounds; round++) {
      const order = patterns.map((_, i) => patterns[(i + round) % patterns.length]!);
      for (const pattern of order) {
        const result = results.get(pattern.id)!;
        if (result.status !== 'ok') continue;
        try {
          const sample = await handover(harness, pattern, images.first, engines, { scratch, rawDir, actionsRoot }, CONSUMERS.length);
          result.rounds.push(sample);
          const seq = sample.consumers.map((s) => (s.wallMs / 1000).toFixed(1)).join(', ');
          log(`round ${round + 1}/${options.rounds} ${pattern.id}: producer ${(sample.producer.wallMs / 1000).toFixed(1)} s (${(sample.producer.bytesUp / 1e6).toFixed(0)} MB up), consumers ${seq} s, four at once ${(sample.parallel.wallMs / 1000).toFixed(1)} s`);
        } catch (error) {
          result.status = 'failed';
          result.reason = (error instanceof Error ? error.message : String(error)).split('\n').slice(0, 3).join(' ').slice(0, 400);
          log(`round ${round + 1} ${pattern.id}: FAILED: ${result.reason}`);
        }
      }
    }

    let double: ArtifactReport['double'];
    const actions = artifactPatterns.find((p) => p.id === 'actions')!;
    if (options.rssDouble && images.double !== undefined && results.get('actions')?.status === 'ok') {
      const rounds: ArtifactRound[] = [];
      for (let round = 0; round < options.rounds; round++) {
        rounds.push(await handover(harness, actions, images.double, engines, { scratch, rawDir, actionsRoot }, 1));
        log(`double ${round + 1}/${options.rounds}: producer ${(rounds.at(-1)!.producer.wallMs / 1000).toFixed(1)} s`);
      }
      double = { image: { ref: images.double.ref, sizeBytes: images.double.sizeBytes, layers: await imageLayerCount(engines.producer, images.double.ref) }, rounds };
    }
    for (const host of engines.consumers) await emptyEngine(host);

    const loadAfter = loadavg();
    const report: ArtifactReport = {
      command: options.command,
      startedAt,
      finishedAt: new Date().toISOString(),
      rounds: options.rounds,
      kind: options.kind,
      engineVersion: (await docker(engines.producer, ['version', '-f', '{{.Server.Version}}'])).stdout.trim(),
      rates: { upMBps: options.upMBps, downMBps: options.downMBps },
      cores: availableParallelism(),
      load: { before: loadBefore, after: loadAfter },
      image: { ref: images.first.ref, sizeBytes: images.first.sizeBytes, layers: await imageLayerCount(engines.producer, images.first.ref) },
      patterns: [...results.values()],
      ...(double === undefined ? {} : { double }),
    };
    const summaries = report.patterns.map(summarizeArtifact);
    const targets = evaluateArtifactTargets(report);
    await mkdir(join(options.outDir, 'raw'), { recursive: true });
    const title = `Through the artifact service at ${options.upMBps}/${options.downMBps} MB/s: ${images.first.ref}, median wall clock per side`;
    await writeFile(join(options.outDir, 'artifact.svg'), renderSvg(summaries.map((s) => s.chart), { title }));
    await writeFile(join(options.outDir, 'artifact.md'), renderArtifactMarkdown(report, targets, 'artifact.svg'));
    await writeFile(join(options.outDir, 'raw', 'artifact.json'), JSON.stringify({ report, targets }, null, 2) + '\n');
    process.stdout.write(`\n${renderArtifactMarkdown(report, targets, undefined)}\n`);
    log(`wrote ${join(options.outDir, 'artifact.md')} and artifact.svg`);
  } finally {
    await harness?.stop();
    await stopArtifactEngines(engines);
  }
}
