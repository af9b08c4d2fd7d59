/**
 * The ways an image crosses the artifact service, producer (engine ->
 * artifact) and consumer (artifact -> engine), each a shell script run in a
 * runner job's environment against the local service:
 *
 * - documented: Docker's documented pattern as upload-artifact and
 *   download-artifact run it by default: `docker save -o`, the tar zipped at
 *   deflate level 6 by @actions/artifact as it uploads; download, unzip,
 *   `docker load -i`.
 * - zstd: the expert pipeline with a single-file artifact: `docker save |
 *   zstd -T0 -3 > file`, uploaded as it is (upload-artifact v7 `archive:
 *   false`, which names the artifact after the file); downloaded as a file,
 *   `zstd -d < file | docker load`.
 * - actions: our export and load actions (export/dist, load/dist) as a
 *   runner runs them: the bundle streams into a single-file artifact while
 *   it is compressed, and out of it by ranges while it loads, verified.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { q, readRssKiB, rssPrefix, sh } from '../measure.ts';
import type { BenchImage } from '../images.ts';
import { inputVariable } from '../../test/support/artifact-service/run-action.ts';
import { parseCommandFile, type RunnerJob } from '../../test/support/artifact-service/index.ts';

export interface ArtifactCase {
  image: BenchImage;
  producerHost: string;
  producer: RunnerJob;
  /** Scratch space of this handover (files a runner would have in RUNNER_TEMP are in each job's own). */
  scratch: string;
  /** Where GNU time writes peak RSS files. */
  rawDir: string;
  /** A snapshot of export/ and load/ (action.yml and dist/). */
  actionsRoot: string;
  /** Filled by produce, read by consume: e.g. the bundle digest. */
  state: Record<string, string>;
}

export interface ArtifactSide {
  wallMs: number;
  /** Peak RSS of each process measured, in KiB, by what it is. */
  rssKiB: Record<string, number>;
}

export interface ArtifactPattern {
  id: string;
  label: string;
  producerCommand: string;
  consumerCommand: string;
  produce(c: ArtifactCase): Promise<ArtifactSide>;
  consume(c: ArtifactCase, job: RunnerJob, host: string): Promise<ArtifactSide>;
}

const clientScript = new URL('./artifact-client.ts', import.meta.url).pathname;
const node = process.execPath;

/** Runs a side's script in a job's environment, and reads the peak RSS of the processes wrapped with `rss(what)`. */
async function side(job: RunnerJob, host: string, rawDir: string, tag: string, build: (rss: (what: string) => string) => string): Promise<ArtifactSide> {
  const files = new Map<string, string>();
  const rss = (what: string): string => {
    const file = join(rawDir, `${tag}-${job.jobId.slice(0, 8)}-${what}.rss`);
    files.set(what, file);
    return rssPrefix(file);
  };
  const script = build(rss);
  const result = await sh(script, { env: { ...job.env, DOCKER_HOST: host }, cwd: job.env['GITHUB_WORKSPACE'] ?? '/' });
  const rssKiB: Record<string, number> = {};
  for (const [what, file] of files) {
    const kib = await readRssKiB(file);
    if (kib !== undefined) rssKiB[what] = kib;
  }
  return { wallMs: result.wallMs, rssKiB };
}

function temp(job: RunnerJob): string {
  return job.env['RUNNER_TEMP'] ?? '/tmp';
}

export const documentedArtifact: ArtifactPattern = {
  id: 'documented',
  label: "Docker's documented pattern (save -o, upload-artifact zip -6; download-artifact, load -i)",
  producerCommand: 'docker save -o charon.tar IMAGE; upload-artifact (zip, deflate level 6)',
  consumerCommand: 'download-artifact (unzip); docker load -i charon.tar',
  async produce(c) {
    const tar = join(temp(c.producer), 'charon.tar');
    return await side(c.producer, c.producerHost, c.rawDir, 'documented-up', (rss) =>
      `docker save -o ${q(tar)} ${q(c.image.ref)} && ${rss('upload-artifact')} ${q(node)} ${q(clientScript)} upload docker-image ${q(tar)} --level 6 >/dev/null && rm -f ${q(tar)}`,
    );
  },
  async consume(c, job, host) {
    const dir = join(temp(job), 'artifact');
    return await side(job, host, c.rawDir, 'documented-down', (rss) =>
      `${rss('download-artifact')} ${q(node)} ${q(clientScript)} download docker-image ${q(dir)} >/dev/null && docker load -q -i ${q(join(dir, 'charon.tar'))} >/dev/null && rm -rf ${q(dir)}`,
    );
  },
};

export const zstdArtifact: ArtifactPattern = {
  id: 'zstd',
  label: 'save | zstd -T0 -3, single-file artifact; download, zstd -d | load',
  producerCommand: 'docker save IMAGE | zstd -T0 -3 > charon.tar.zst; upload-artifact (archive: false)',
  consumerCommand: 'download-artifact (a file); zstd -d < charon.tar.zst | docker load',
  async produce(c) {
    const file = join(temp(c.producer), 'charon.tar.zst');
    return await side(c.producer, c.producerHost, c.rawDir, 'zstd-up', (rss) =>
      `docker save ${q(c.image.ref)} | ${rss('zstd')} zstd -T0 -3 -q -c > ${q(file)} && ${rss('upload-artifact')} ${q(node)} ${q(clientScript)} upload - ${q(file)} --single-file >/dev/null && rm -f ${q(file)}`,
    );
  },
  async consume(c, job, host) {
    const dir = join(temp(job), 'artifact');
    const file = join(dir, 'charon.tar.zst');
    return await side(job, host, c.rawDir, 'zstd-down', (rss) =>
      `${rss('download-artifact')} ${q(node)} ${q(clientScript)} download charon.tar.zst ${q(dir)} >/dev/null && ${rss('zstd -d')} zstd -d -q -c < ${q(file)} | docker load -q >/dev/null && rm -rf ${q(dir)}`,
    );
  },
};

/** INPUT_* for an action: the declared defaults, then the inputs given. */
async function actionInputs(actionDir: string, job: RunnerJob, inputs: Record<string, string>): Promise<string> {
  const metadata = parse(await readFile(join(actionDir, 'action.yml'), 'utf8')) as { inputs?: Record<string, { default?: string }> };
  const env: string[] = [];
  for (const [name, spec] of Object.entries(metadata.inputs ?? {})) {
    const value = inputs[name] ?? (spec.default ?? '').replace(/\$\{\{\s*github\.token\s*\}\}/, job.githubToken).replace(/\$\{\{\s*github\.repository\s*\}\}/, job.env['GITHUB_REPOSITORY'] ?? '');
    env.push(`${q(inputVariable(name))}=${q(value)}`);
  }
  return `env ${env.join(' ')}`;
}

export const actionsArtifact: ArtifactPattern = {
  id: 'actions',
  label: 'handover export / load actions (streamed, verified)',
  producerCommand: 'uses: ./export with images: IMAGE (node export/dist/index.cjs)',
  consumerCommand: 'uses: ./load with expect: and tags: (node load/dist/index.cjs)',
  async produce(c) {
    const dir = join(c.actionsRoot, 'export');
    const env = await actionInputs(dir, c.producer, { images: c.image.ref });
    const before = (await readFile(c.producer.outputFile, 'utf8')).length;
    const log = join(c.rawDir, 'export-action.log');
    const result = await side(c.producer, c.producerHost, c.rawDir, 'actions-up', (rss) => `${env} ${rss('export action')} ${q(node)} ${q(join(dir, 'dist/index.cjs'))} > ${q(log)} || { tail -n 20 ${q(log)} >&2; exit 1; }`);
    const outputs = parseCommandFile((await readFile(c.producer.outputFile, 'utf8')).slice(before));
    if (outputs['bundle-digest'] === undefined) throw new Error('the export action set no bundle-digest output');
    c.state['bundle-digest'] = outputs['bundle-digest'];
    return result;
  },
  async consume(c, job, host) {
    const dir = join(c.actionsRoot, 'load');
    const env = await actionInputs(dir, job, { expect: c.state['bundle-digest'] ?? '', tags: c.image.ref });
    const log = join(c.rawDir, `load-action-${job.jobId.slice(0, 8)}.log`);
    return await side(job, host, c.rawDir, 'actions-down', (rss) => `${env} ${rss('load action')} ${q(node)} ${q(join(dir, 'dist/index.cjs'))} > ${q(log)} || { tail -n 20 ${q(log)} >&2; exit 1; }`);
  },
};

export const artifactPatterns: readonly ArtifactPattern[] = [documentedArtifact, zstdArtifact, actionsArtifact];

/** A fresh scratch directory. */
export async function freshDir(path: string): Promise<string> {
  await rm(path, { recursive: true, force: true });
  await mkdir(path, { recursive: true });
  return path;
}
