import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { DefaultArtifactClient } from '@actions/artifact';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { locateToc } from '../../src/archive/oci-archive/archive-toc.ts';
import { DEFAULT_TAIL_BYTES } from '../../src/archive/oci-archive/oci-archive-reader.ts';
import { BLOCK, padding, parseHeader } from '../../src/archive/tar/tar-header.ts';
import { exportImages } from '../../src/handover/export/export.ts';
import { DockerEngine } from '../../src/engine/docker-engine.ts';
import { parseDockerHost } from '../../src/engine/docker-host.ts';
import { DEFAULT_BLOCK_SIZE } from '../../src/store/github/blob-storage/block-blob-upload.ts';
import { GitHubArtifactStore } from '../../src/store/github/github-artifact-store.ts';
import { LocalStore } from '../../src/store/local/local-store.ts';
import { QUOTA_EXCEEDED, startArtifactService, withJobEnv, type ArtifactServiceHarness, type RunnerJob } from '../support/artifact-service/index.ts';
import { runAction } from '../support/artifact-service/run-action.ts';
import { buildImage, docker, importImage } from '../support/docker.ts';
import { forEachEngineKind, kindDocker } from '../support/engine-matrix.ts';
import { buildTestImages, type TestImages } from '../support/images.ts';
import { tempDirs } from '../unit/core/support.ts';

/**
 * Issue 14 end to end: the export and load actions, run as a runner runs
 * them, stream the bundle through the local artifact service (Twirp +
 * Azurite, each job on its own link to storage) as a single-file archive;
 * and every network fault the issue names, each against it.
 */

const exec = promisify(execFile);
const engines = inject('engines');
const dirs = tempDirs('artifact-stream');
const MiB = 1024 * 1024;

let harness: ArtifactServiceHarness;
let images: TestImages;
/** An image of one 8 MiB random layer: a range long enough to cut mid-way. */
const big = 'handover-stream/big:1';
let builtId: string;

beforeAll(async () => {
  harness = await startArtifactService({ linkPerJob: true });
  images = await buildTestImages(engines.producer, 'handover-stream');
  builtId = (await docker(engines.producer, 'image', 'inspect', '-f', '{{.Id}}', images.app)).trim();
  const bytes = randomBytes(8 * MiB);
  await importImage(engines.producer, `${big}-base`, [{ name: 'big.bin', size: bytes.length, content: () => [bytes] }]);
  await buildImage(engines.producer, big, `FROM ${big}-base\nCMD ["/big.bin"]\n`);
});

afterAll(async () => {
  await harness?.stop();
  await dirs.cleanup();
});

async function tagId(host: string, tag: string): Promise<string | undefined> {
  return (await docker(host, 'image', 'inspect', '-f', '{{.Id}}', tag).catch(() => '')).trim() || undefined;
}

async function exportAction(job: RunnerJob, inputs: Record<string, string>) {
  return await runAction('export', job, inputs, { DOCKER_HOST: engines.producer });
}

async function loadAction(job: RunnerJob, host: string, inputs: Record<string, string>) {
  return await runAction('load', job, inputs, { DOCKER_HOST: host });
}

/** The stored archive's layer entries (the blobs before the metadata), largest first. */
function layerEntries(stored: Buffer): Array<{ name: string; offset: number; size: number }> {
  const toc = locateToc(stored, 0, stored.length);
  if (toc === undefined) throw new Error('the stored artifact has no table of contents');
  return toc.entries.filter((e) => e.offset < toc.metadataOffset).sort((a, b) => b.size - a.size);
}

describe('the actions stream the bundle through the artifact service', () => {
  const tag = 'stream-app:local';
  let exported: Record<string, string> = {};

  it('export uploads a single-file archive as it compresses, finalized once whole; its outputs name the bundle and the artifact', async () => {
    const producer = await harness.createJob('build-image');
    const result = await exportAction(producer, { images: images.app, tag });
    expect(result.error).toBeUndefined();
    expect(result.exitCode).toBe(0);
    exported = result.outputs;
    const [artifact] = harness.service.list().filter((a) => a.name === 'docker-image');
    expect(artifact).toMatchObject({ mimeType: 'application/x-tar', version: 7, finalized: true });
    expect(exported).toMatchObject({ 'artifact-name': 'docker-image', 'artifact-id': String(artifact!.id), 'run-integration': 'true' });
    expect(exported['bundle-digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
    // The whole archive crossed the link once, in blocks, committed once.
    expect(producer.link.bytesUp).toBeGreaterThanOrEqual(artifact!.size);
    expect(producer.link.bytesUp).toBeLessThan(artifact!.size + 64 * 1024);
    const puts = producer.link.requests().filter((r) => r.method === 'PUT');
    expect(puts.filter((r) => r.comp === 'blocklist')).toHaveLength(1);
    expect(puts.at(-1)?.comp).toBe('blocklist');
    // Nothing staged is left behind.
    expect(await readdir(producer.env['RUNNER_TEMP']!)).toEqual([]);
  });

  it('load reads the tail and then each layer by its own range, straight into the engine, verified; nothing lands on disk', async () => {
    const consumer = await harness.createJob('integration-cerberus');
    const result = await loadAction(consumer, engines.c1, { expect: exported['bundle-digest']!, tags: tag });
    expect(result.error).toBeUndefined();
    expect(result.exitCode).toBe(0);
    expect(await tagId(engines.c1, tag)).toBe(builtId);
    const [artifact] = harness.service.list().filter((a) => a.name === 'docker-image');
    const requests = consumer.link.requests();
    expect(requests[0]?.method).toBe('HEAD');
    const gets = requests.filter((r) => r.method === 'GET');
    // The tail first (the archive's last bytes), then one range per layer: never the file from its start in one read.
    expect(gets[0]?.range).toMatch(new RegExp(`-${artifact!.size - 1}$`));
    expect(gets.length).toBeGreaterThan(2);
    expect(gets.every((r) => r.range !== undefined && r.range !== `bytes=0-${artifact!.size - 1}`)).toBe(true);
    // At most the file once, and the tail's first read again (it may reach into the last layer).
    expect(consumer.link.bytesDown).toBeLessThanOrEqual(artifact!.size + DEFAULT_TAIL_BYTES);
    expect(await readdir(consumer.env['RUNNER_TEMP']!)).toEqual([]);
  });

  it('a consumer that holds the base layers downloads only the layers it lacks', async () => {
    const producer = await harness.createJob('build-worker');
    const result = await exportAction(producer, { images: images.worker, tag: 'stream-worker:local', name: 'worker-image' });
    expect(result.exitCode).toBe(0);
    const consumer = await harness.createJob('integration-worker');
    // c1 holds the app image, whose base the worker shares: busybox and 3 MiB of noise are not fetched again.
    const loaded = await loadAction(consumer, engines.c1, { name: 'worker-image', expect: result.outputs['bundle-digest']!, tags: 'stream-worker:local' });
    expect(loaded.error).toBeUndefined();
    expect(consumer.link.bytesDown).toBeLessThan(MiB);
    const [artifact] = harness.service.list().filter((a) => a.name === 'worker-image');
    expect(artifact!.size).toBeGreaterThan(3 * MiB);
  });

  it('the earlier artifact form (a zip of the layout, from @actions/artifact) still loads', async () => {
    const producer = await harness.createJob('build-old');
    const storeDir = await dirs.make();
    const store = new LocalStore(storeDir);
    const old = await exportImages({ store, source: { engine: new DockerEngine(parseDockerHost(engines.producer)), references: [images.app] }, name: 'old-form', tag: 'stream-old:local' });
    const layout = join(storeDir, 'names', 'old-form');
    const files = ['oci-layout', 'index.json', ...(await readdir(join(layout, 'blobs', 'sha256'))).map((hex) => join('blobs', 'sha256', hex))].map((f) => join(layout, f));
    await withJobEnv(producer, async () => await new DefaultArtifactClient().uploadArtifact('old-form', files, layout, { compressionLevel: 0 }));
    expect(harness.service.list().find((a) => a.name === 'old-form')?.mimeType).toBe('application/zip');
    const consumer = await harness.createJob('integration-old');
    const result = await loadAction(consumer, engines.c2, { name: 'old-form', expect: old.bundleDigest, tags: 'stream-old:local' });
    expect(result.error).toBeUndefined();
    expect(await tagId(engines.c2, 'stream-old:local')).toBe(builtId);
    expect(await readdir(consumer.env['RUNNER_TEMP']!)).toEqual([]);
  });
});

describe('faults on the network, each end to end', () => {
  it('a connection dropped mid-block, a 503 and a 429 from storage during the upload: each retried; one whole artifact, which loads', async () => {
    const producer = await harness.createJob('build-faulty');
    producer.link.inject({ method: 'PUT', comp: 'block' }, { kind: 'drop-upload', afterBytes: 2 * MiB });
    producer.link.inject({ method: 'PUT', comp: 'block', skip: 1 }, { kind: 'status', status: 503 });
    producer.link.inject({ method: 'PUT', comp: 'blocklist' }, { kind: 'status', status: 429, retryAfterSeconds: 0 });
    const result = await exportAction(producer, { images: big, tag: 'stream-big:local', name: 'faulty' });
    expect(result.error).toBeUndefined();
    expect(producer.link.pendingFaults).toBe(0);
    const faults = producer.link.requests().filter((r) => r.fault !== undefined).map((r) => r.fault);
    expect(faults).toEqual(['drop-upload', 'status', 'status']);
    // One artifact of that name, visible and whole: no duplicate, no half upload.
    expect(harness.service.list().filter((a) => a.name === 'faulty')).toEqual([expect.objectContaining({ finalized: true })]);
    const consumer = await harness.createJob('integration-faulty');
    const loaded = await loadAction(consumer, engines.c3, { name: 'faulty', expect: result.outputs['bundle-digest']!, tags: 'stream-big:local' });
    expect(loaded.error).toBeUndefined();
  });

  it('a connection dropped mid-download is resumed by range from the byte reached; a 503 and a 429 are retried', async () => {
    const consumer = await harness.createJob('integration-resume');
    // The first GET is the tail; the second the 8 MiB layer, cut after 3 MiB, then refused twice.
    consumer.link.inject({ method: 'GET', skip: 1 }, { kind: 'drop-download', afterBytes: 3 * MiB });
    consumer.link.inject({ method: 'GET', skip: 2 }, { kind: 'status', status: 503 });
    consumer.link.inject({ method: 'GET', skip: 3 }, { kind: 'status', status: 429, retryAfterSeconds: 0 });
    await docker(engines.c4, 'image', 'rm', '-f', 'stream-big:local').catch(() => '');
    const result = await loadAction(consumer, engines.c4, { name: 'faulty', tags: 'stream-big:local' });
    expect(result.error).toBeUndefined();
    expect(consumer.link.pendingFaults).toBe(0);
    const gets = consumer.link.requests().filter((r) => r.method === 'GET');
    const ranges = gets.map((r) => /^bytes=(\d+)-(\d+)$/.exec(r.range ?? '')!.slice(1).map(Number) as [number, number]);
    expect(gets.map((r) => r.fault)).toEqual([undefined, 'drop-download', 'status', 'status', undefined]);
    // Resumed: the last read starts past what arrived before the cut, and ends where the first ended.
    expect(ranges[4]![0]).toBeGreaterThan(ranges[1]![0] + 2 * MiB);
    expect(ranges[4]![1]).toBe(ranges[1]![1]);
  });

  it('storage failing every attempt: the export fails after bounded back-off with ARTIFACT_SERVICE, and no artifact of that name appears', async () => {
    const producer = await harness.createJob('build-doomed');
    // Enough that one block fails all five attempts, however their retries interleave: more than four for each of the
    // archive's blocks (each layer sent while it is compressed, in blocks of its own, its header in a short one).
    for (let i = 0; i < 100; i++) producer.link.inject({ method: 'PUT', comp: 'block' }, { kind: 'status', status: 500 });
    const result = await exportAction(producer, { images: images.app, name: 'doomed' });
    expect(result.exitCode).toBe(7);
    // The last failure is the 500, or the connection the link closed while the block was still being sent (EPIPE): both transient.
    expect(result.error).toMatch(/^\[ARTIFACT_SERVICE\] Blob storage failed while uploading block \d+ \(\d+ bytes\), 5 times in a row; the last failure: (500 InternalError|.*(EPIPE|ECONNRESET))/);
    expect(producer.link.requests().filter((r) => r.comp === 'block' && r.status === 500).length).toBeGreaterThanOrEqual(5);
    expect(result.outputs).toEqual({});
    expect(harness.service.list().filter((a) => a.name === 'doomed' && a.finalized)).toEqual([]);
    expect(await readdir(producer.env['RUNNER_TEMP']!)).toEqual([]);
  });

  it("a used-up storage quota fails the export with ARTIFACT_QUOTA_EXCEEDED, naming GitHub's quota and what to do", async () => {
    const producer = await harness.createJob('build-quota');
    harness.service.injectFailure('CreateArtifact', QUOTA_EXCEEDED);
    const result = await exportAction(producer, { images: images.app, name: 'over-quota' });
    expect(result.exitCode).toBe(7);
    expect(result.error).toMatch(/^\[ARTIFACT_QUOTA_EXCEEDED\] GitHub refused creating artifact 'over-quota': the artifact storage quota of the repository's account is used up \(the artifact service answered 403 permission_denied: insufficient usage/);
    expect(result.error).toMatch(/retention-days at 1/);
    expect(result.error).toMatch(/6 to 12 hours/);
    expect(result.summary).toContain('ARTIFACT_QUOTA_EXCEEDED');
    expect(result.outputs).toEqual({});
  });

  it('a layer altered in storage or on the way, or an artifact truncated in storage, is refused and nothing is tagged', async () => {
    // c2 does not hold the layer (c3 and c4 do, from the tests above), so it is read.
    const producer = await harness.createJob('build-victim');
    const exported = await exportAction(producer, { images: big, tag: 'stream-victim:local', name: 'victim' });
    expect(exported.exitCode).toBe(0);
    const expectDigest = exported.outputs['bundle-digest']!;
    const victim = 'stream-victim:local';

    const onTheWay = await harness.createJob('integration-on-the-way');
    onTheWay.link.inject({ method: 'GET', skip: 1 }, { kind: 'corrupt-download', atByte: 512 + 4 * MiB });
    const corrupted = await loadAction(onTheWay, engines.c2, { name: 'victim', expect: expectDigest, tags: victim });
    expect(onTheWay.link.pendingFaults).toBe(0);
    expect(corrupted.exitCode).toBe(5);
    expect(corrupted.error).toMatch(/^\[BLOB_DIGEST_MISMATCH\] Blob layer 1 of stream-victim:local was altered/);
    expect(await tagId(engines.c2, victim)).toBeUndefined();

    await harness.service.alterStoredContent('victim', (stored) => {
      const [layer] = layerEntries(stored);
      const changed = Buffer.from(stored);
      changed.writeUInt8(changed.readUInt8(layer!.offset + 1000) ^ 1, layer!.offset + 1000);
      return changed;
    });
    const altered = await loadAction(await harness.createJob('integration-altered'), engines.c2, { name: 'victim', expect: expectDigest, tags: victim });
    expect(altered.exitCode).toBe(5);
    expect(altered.error).toMatch(/^\[BLOB_DIGEST_MISMATCH\]/);
    expect(await tagId(engines.c2, victim)).toBeUndefined();

    await harness.service.alterStoredContent('victim', (stored) => stored.subarray(0, stored.length - 4096));
    const truncated = await loadAction(await harness.createJob('integration-truncated'), engines.c2, { name: 'victim', expect: expectDigest, tags: victim });
    expect(truncated.exitCode).toBe(5);
    expect(truncated.error).toMatch(/^\[BUNDLE_MALFORMED\] The artifact victim \(id \d+\) in GitHub Actions artifacts of .* is neither a handover archive nor a zip/);
    expect(await tagId(engines.c2, victim)).toBeUndefined();
    // No partial image of the failed loads is left behind.
    expect((await docker(engines.c2, 'images', '-aq', '--filter', 'label=io.github.image-handover.partial-of')).trim()).toBe('');
  });

  it('a re-run of the producer replaces the artifact: one of that name, a new id; the old digest is refused, the new one loads', async () => {
    const producer = await harness.createJob('build-rerun');
    const first = await exportAction(producer, { images: images.app, tag: 'stream-rerun:one', name: 'rerun' });
    const second = await exportAction(producer, { images: images.app, tag: 'stream-rerun:two', name: 'rerun' });
    expect(second.exitCode).toBe(0);
    const artifacts = harness.service.list().filter((a) => a.name === 'rerun');
    expect(artifacts).toHaveLength(1);
    expect(second.outputs['artifact-id']).toBe(String(artifacts[0]!.id));
    expect(second.outputs['artifact-id']).not.toBe(first.outputs['artifact-id']);
    const stale = await loadAction(await harness.createJob('integration-stale'), engines.c4, { name: 'rerun', expect: first.outputs['bundle-digest']!, tags: 'stream-rerun:one' });
    expect(stale.exitCode).toBe(5);
    expect(stale.error).toMatch(/^\[BUNDLE_DIGEST_MISMATCH\]/);
    expect(await tagId(engines.c4, 'stream-rerun:one')).toBeUndefined();
    const fresh = await loadAction(await harness.createJob('integration-fresh'), engines.c4, { name: 'rerun', expect: second.outputs['bundle-digest']!, tags: 'stream-rerun:two' });
    expect(fresh.error).toBeUndefined();
  });
});

describe('the streamed artifact loads on every engine kind', () => {
  let digest = '';
  beforeAll(async () => {
    const producer = await harness.createJob('build-kinds');
    const result = await exportAction(producer, { images: images.app, tag: 'stream-kinds:local', name: 'kinds' });
    expect(result.exitCode).toBe(0);
    digest = result.outputs['bundle-digest']!;
  });

  forEachEngineKind((kind, kindEngines) => {
    it('load streams it in, verified, under the tag', async () => {
      const host = kindEngines.consumers[0]!;
      await kindDocker(kindEngines, host, 'image', 'rm', '-f', 'stream-kinds:local').catch(() => undefined);
      const consumer = await harness.createJob(`integration-${kind}`);
      const result = await loadAction(consumer, host, { name: 'kinds', expect: digest, tags: 'stream-kinds:local' });
      expect(result.error).toBeUndefined();
      expect(result.exitCode).toBe(0);
      expect(result.outputs['tags']).toBe('stream-kinds:local');
      expect(await readdir(consumer.env['RUNNER_TEMP']!)).toEqual([]);
    });
  }, { skip: { '20.10': 'the describes above load on 20.10' } });
});

/** Where an entry's bytes are in a tar: the first file whose name ends so. */
function tarEntry(tar: Buffer, suffix: string): { start: number; end: number } {
  for (let at = 0; at + BLOCK <= tar.length; ) {
    const header = parseHeader(tar.subarray(at, at + BLOCK));
    if (header === undefined) break;
    const start = at + BLOCK;
    if (header.type === 'file' && header.name.endsWith(suffix)) return { start, end: start + header.size };
    at = start + header.size + padding(header.size);
  }
  throw new Error(`the tar has no entry ending in ${suffix}`);
}

describe('a layer is uploaded while it is compressed', () => {
  it('blocks of the layer reach storage while its compressor still waits for the layer\'s last bytes; the artifact loads with the same image id and skopeo and tar read it', async () => {
    // One layer of 40 MiB that does not compress: the zstd command writes its output as it goes.
    const tag = 'handover-stream/overlap:1';
    const bytes = randomBytes(40 * MiB);
    await importImage(engines.producer, tag, [{ name: 'noise.bin', size: bytes.length, content: () => [bytes] }]);
    const imageId = (await docker(engines.producer, 'image', 'inspect', '-f', '{{.Id}}', tag)).trim();
    const work = await dirs.make();
    const saved = join(work, 'saved.tar');
    await docker(engines.producer, 'save', '-o', saved, tag);
    const archive = await readFile(saved);
    const layer = tarEntry(archive, '/layer.tar');
    // The export reads the save through a pipe the test feeds: all but the layer's last 4 MiB, and the rest only once blocks were PUT.
    const fifo = join(work, 'save.pipe');
    await exec('mkfifo', [fifo]);
    const producer = await harness.createJob('build-overlap');
    const store = new GitHubArtifactStore({
      service: { resultsUrl: producer.env['ACTIONS_RESULTS_URL']!, token: producer.env['ACTIONS_RUNTIME_TOKEN']! },
      tempRoot: producer.env['RUNNER_TEMP'],
    });
    const exporting = exportImages({ store, source: { archive: fifo }, name: 'overlap', tag: 'stream-overlap:local', zstd: 'command' });
    exporting.catch(() => undefined);
    const blockPuts = () => producer.link.requests().filter((r) => r.method === 'PUT' && r.comp === 'block');
    const pipe = await open(fifo, 'w');
    let putWhileWithheld: ReturnType<typeof blockPuts>;
    try {
      await pipe.write(archive.subarray(0, layer.end - 4 * MiB));
      // Without the layer's end its compression cannot finish; the old path would PUT nothing until then (waiting fails the test).
      for (let waited = 0; blockPuts().filter((r) => r.status === 201).length === 0; waited += 50) {
        if (waited > 120_000) throw new Error('no block was stored while the layer was still being compressed');
        await sleep(50);
      }
      putWhileWithheld = blockPuts();
      await pipe.write(archive.subarray(layer.end - 4 * MiB));
    } finally {
      await pipe.close();
    }
    const exported = await exporting;
    // What arrived before the layer's end were whole data blocks of it: nothing else of the archive was ready.
    expect(putWhileWithheld.length).toBeGreaterThan(0);
    expect(putWhileWithheld.filter((r) => r.status === 201).every((r) => r.bytesUp === DEFAULT_BLOCK_SIZE)).toBe(true);
    const puts = producer.link.requests().filter((r) => r.method === 'PUT');
    expect(puts.filter((r) => r.comp === 'blocklist')).toHaveLength(1);
    expect(puts.at(-1)?.comp).toBe('blocklist');
    expect(await readdir(producer.env['RUNNER_TEMP']!)).toEqual([]);

    // The artifact is the archive: the layer first (its header committed before the blocks PUT ahead of it), the tail last.
    const [record] = harness.service.list().filter((a) => a.name === 'overlap' && a.finalized);
    const target = join(work, 'download');
    await withJobEnv(producer, async () => await new DefaultArtifactClient().downloadArtifact(record!.id, { path: target, expectedHash: String(exported.details['artifactDigest']) }));
    const file = join(target, 'overlap');
    const stored = await readFile(file);
    expect(stored.length).toBe(exported.details['artifactSize']);
    expect(exported.images[0]?.imageId).toBe(imageId);
    const { stdout: raw } = await exec('skopeo', ['inspect', '--raw', `oci-archive:${file}`]);
    const layers = (JSON.parse(raw) as { layers: Array<{ digest: string }> }).layers;
    expect(layers).toHaveLength(1);
    const layerName = `blobs/sha256/${layers[0]!.digest.replace(/^sha256:/, '')}`;
    const { stdout: listing } = await exec('tar', ['-tf', file]);
    expect(listing.split('\n').filter((line) => line !== '')).toEqual(expect.arrayContaining([layerName, 'index.json', 'oci-layout', 'manifest.json']));
    expect(parseHeader(stored.subarray(0, BLOCK))?.name).toBe(layerName);

    const consumer = await harness.createJob('integration-overlap');
    const loaded = await loadAction(consumer, engines.c3, { name: 'overlap', expect: exported.bundleDigest, tags: 'stream-overlap:local' });
    expect(loaded.error).toBeUndefined();
    expect(await tagId(engines.c3, 'stream-overlap:local')).toBe(imageId);
  });
});
