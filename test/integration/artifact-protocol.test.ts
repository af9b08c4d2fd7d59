import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DefaultArtifactClient } from '@actions/artifact';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OciArchiveReader } from '../../src/archive/oci-archive/oci-archive-reader.ts';
import { digestHex, type Digest } from '../../src/digest/digest.ts';
import { HashingStream } from '../../src/digest/hashing-stream.ts';
import { ownedChunks } from '../../src/io/borrowed-chunks.ts';
import { ARCHIVE_MIME_TYPE, ArchiveUpload } from '../../src/store/github/archive-upload.ts';
import { openArtifact } from '../../src/store/github/archive-download.ts';
import { BlockBlobUpload } from '../../src/store/github/blob-storage/block-blob-upload.ts';
import { BlobChangedAnswer, BlobGoneAnswer } from '../../src/store/github/blob-storage/blob-errors.ts';
import type { RetryPolicy } from '../../src/store/github/http/retry.ts';
import { ArtifactServiceClient } from '../../src/store/github/service/artifact-service-client.ts';
import { QUOTA_EXCEEDED, startArtifactService, withJobEnv, type ArtifactServiceHarness, type RunnerJob } from '../support/artifact-service/index.ts';
import { appendSyntheticBlobs, syntheticBundle, type SyntheticBundle } from '../support/synthetic-bundle.ts';
import { collect, typedFailure } from '../unit/core/support.ts';

const MiB = 1024 * 1024;
/** Millisecond back-off: faults cost retries, not minutes. */
const RETRY: RetryPolicy = { maxAttempts: 4, initialDelayMs: 5, multiplier: 2, maxDelayMs: 40 };
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const layerName = (digest: Digest): string => `blobs/sha256/${digestHex(digest)}`;

function clientFor(job: RunnerJob, retries: string[] = []): ArtifactServiceClient {
  return new ArtifactServiceClient({
    resultsUrl: job.env['ACTIONS_RESULTS_URL']!,
    token: job.env['ACTIONS_RUNTIME_TOKEN']!,
    retry: RETRY,
    onRetry: (failure) => retries.push(failure.message),
  });
}

async function upload(job: RunnerJob, name: string, bundle: SyntheticBundle, retries: string[] = []) {
  const transfer = await ArchiveUpload.start({
    client: clientFor(job, retries),
    name,
    retentionDays: 1,
    blob: { blockSize: MiB, concurrency: 3, retry: RETRY, onRetry: (failure) => retries.push(failure.message) },
  });
  await appendSyntheticBlobs(bundle, transfer.archive);
  return await transfer.finish(bundle.index);
}

async function openReader(job: RunnerJob, name: string, retries: string[] = []) {
  const opened = await openArtifact(clientFor(job), name, { retry: RETRY, onRetry: (failure) => retries.push(failure.message) });
  if (opened?.content.kind !== 'oci-archive') throw new Error(`artifact ${name} opened as ${opened?.content.kind ?? 'nothing'}`);
  return { ...opened, reader: opened.content.reader };
}

describe('the artifact protocol against the local service: single-file archive, blocks, ranges, faults', () => {
  let harness: ArtifactServiceHarness;
  let producer: RunnerJob;
  let consumer: RunnerJob;

  beforeAll(async () => {
    harness = await startArtifactService();
    producer = await harness.createJob('build-image');
    consumer = await harness.createJob('integration-cerberus');
  });
  afterAll(async () => {
    await harness?.stop();
  });
  beforeEach(() => {
    expect(harness.link.pendingFaults).toBe(0);
  });

  it('uploads an archive block by block, visible only once finalized, and a consumer reads the tail and one layer by range', async () => {
    const bundle = syntheticBundle([5 * MiB + 123, 2 * MiB, 10_000]);
    const transfer = await ArchiveUpload.start({ client: clientFor(producer), name: 'docker-image', retentionDays: 1, blob: { blockSize: MiB, concurrency: 3, retry: RETRY } });
    await appendSyntheticBlobs(bundle, transfer.archive);
    // Layers are in storage, uncommitted: no artifact of that name exists for the run yet.
    expect(await clientFor(consumer).listArtifacts({ name: 'docker-image' })).toEqual([]);
    const uploaded = await transfer.finish(bundle.index);

    const blockPuts = harness.link.requests().filter((r) => r.method === 'PUT' && r.comp === 'block');
    expect(blockPuts).toHaveLength(Math.ceil(uploaded.size / MiB));
    expect(harness.link.requests().filter((r) => r.comp === 'blocklist')).toHaveLength(1);
    const [record] = await clientFor(consumer).listArtifacts({ name: 'docker-image' });
    expect(record).toMatchObject({ id: uploaded.id, size: uploaded.size, digest: uploaded.digest, workflowJobRunBackendId: producer.jobId });
    expect(harness.service.list().find((a) => a.id === uploaded.id)).toMatchObject({ mimeType: ARCHIVE_MIME_TYPE, version: 7, finalized: true });

    const before = harness.link.requests().length;
    const downBefore = harness.link.bytesDown;
    const { reader } = await openReader(consumer, 'docker-image');
    // One HEAD for the size, one GET for the tail: index, manifest and config come from it.
    expect(harness.link.requests().slice(before).map((r) => r.method)).toEqual(['HEAD', 'GET']);
    expect((await reader.entryBytes('index.json', MiB)).equals(bundle.index)).toBe(true);
    const middle = bundle.layers[1]!;
    const verified = new HashingStream({ digest: middle.digest, size: middle.bytes.length });
    await pipeline(ownedChunks(reader.openEntry(layerName(middle.digest))), verified, async (chunks: AsyncIterable<Buffer>) => {
      for await (const _ of chunks);
    });
    // The bottom layer, which the consumer did not ask for, was never downloaded.
    expect(harness.link.bytesDown - downBefore).toBeLessThan(middle.bytes.length + 512 * 1024);
  });

  it('is an ordinary single-file artifact: @actions/artifact (download-artifact v5+) saves it as it is, and its digest matches', async () => {
    const [record] = await clientFor(consumer).listArtifacts({ name: 'docker-image' });
    const target = join(consumer.dir, 'by-hand');
    const client = new DefaultArtifactClient();
    const downloaded = await withJobEnv(consumer, () => client.downloadArtifact(record!.id, { path: target, expectedHash: record!.digest }));
    expect(downloaded.digestMismatch).toBe(false);
    expect(await readdir(target)).toEqual(['docker-image']);
    const bytes = await readFile(join(target, 'docker-image'));
    expect(`sha256:${sha256(bytes)}`).toBe(record!.digest);
    expect(bytes.length).toBe(record!.size);
  });

  it('keeps memory bounded: writes wait while the blocks in flight fill their buffers', async () => {
    const retries: string[] = [];
    const client = clientFor(producer, retries);
    const url = await client.createArtifact({ name: 'pressure', mimeType: ARCHIVE_MIME_TYPE });
    let stored = 0;
    let maxAhead = 0;
    const blob = new BlockBlobUpload(url, { contentType: ARCHIVE_MIME_TYPE, blockSize: 256 * 1024, concurrency: 2, retry: RETRY, onProgress: (bytes) => (stored = bytes) });
    const chunk = Buffer.alloc(64 * 1024, 1);
    function* source(): Generator<Buffer> {
      for (let i = 0; i < 160; i++) {
        maxAhead = Math.max(maxAhead, blob.bytes - stored);
        yield chunk;
      }
    }
    await pipeline(source, blob);
    expect(blob.result.size).toBe(160 * 64 * 1024);
    // At most the block being filled, two in flight, and the stream's own buffer.
    expect(maxAhead).toBeLessThanOrEqual(3 * 256 * 1024 + 64 * 1024);
    await client.finalizeArtifact({ name: 'pressure', size: blob.result.size, sha256: blob.result.sha256 });
  });

  it('retries a block whose connection drops, a 503 and a 429 from storage, a 500 and a dropped connection from the service; the artifact is whole', async () => {
    harness.service.injectFailure('CreateArtifact', { status: 500, code: 'internal', msg: 'injected' });
    harness.service.injectFailure('FinalizeArtifact', { drop: true });
    harness.link.inject({ method: 'PUT', comp: 'block', skip: 1 }, { kind: 'drop-upload', afterBytes: 300_000 });
    harness.link.inject({ method: 'PUT', comp: 'block', skip: 2 }, { kind: 'status', status: 503 });
    harness.link.inject({ method: 'PUT', comp: 'blocklist' }, { kind: 'status', status: 429, retryAfterSeconds: 0 });
    const retries: string[] = [];
    const bundle = syntheticBundle([4 * MiB, MiB]);
    const uploaded = await upload(producer, 'faulty', bundle, retries);
    expect(harness.link.pendingFaults).toBe(0);
    expect(retries).toHaveLength(5);
    expect(retries.join('\n')).toMatch(/500 internal: injected/);
    expect(retries.join('\n')).toMatch(/503 ServerBusy/);
    expect(retries.join('\n')).toMatch(/429/);

    const { reader, blob } = await openReader(consumer, 'faulty');
    const whole = await blob.bytes(0, reader.size);
    expect(`sha256:${sha256(whole)}`).toBe(uploaded.digest);
    expect((await reader.entryBytes('index.json', MiB)).equals(bundle.index)).toBe(true);
  });

  it('gives up after the bounded attempts with a typed error, and no artifact appears', async () => {
    // One block (the archive is under 1 MiB), failing every attempt.
    for (let i = 0; i < RETRY.maxAttempts; i++) harness.link.inject({ method: 'PUT', comp: 'block' }, { kind: 'status', status: 500 });
    const error = await typedFailure(upload(producer, 'doomed', syntheticBundle([200_000])), 'ARTIFACT_SERVICE');
    expect(error.message).toMatch(/4 times in a row; the last failure: 500 InternalError/);
    expect(error.exitStatus).toBe(7);
    expect(await clientFor(consumer).listArtifacts({ name: 'doomed' })).toEqual([]);
    expect(harness.service.list().find((a) => a.name === 'doomed')).toMatchObject({ finalized: false });
  });

  it('names GitHub\'s artifact storage quota and what to do when the service refuses for it', async () => {
    harness.service.injectFailure('CreateArtifact', QUOTA_EXCEEDED);
    const error = await typedFailure(upload(producer, 'over-quota', syntheticBundle([1000])), 'ARTIFACT_QUOTA_EXCEEDED');
    expect(error.exitStatus).toBe(7);
    expect(error.message).toContain('artifact storage quota');
    expect(error.message).toContain('insufficient usage');
    expect(error.hint).toMatch(/retention-days/);
    expect(error.hint).toMatch(/6 to 12 hours/);
    // Not retried: a quota does not recover in seconds.
    expect(harness.service.recordedCalls().filter((c) => c.method === 'CreateArtifact' && c.request['name'] === 'over-quota')).toHaveLength(1);
  });

  it('resumes a download whose connection drops from the byte reached, and retries 503 and 429', async () => {
    const bundle = syntheticBundle([6 * MiB, 1000]);
    await upload(producer, 'resume', bundle);
    const retries: string[] = [];
    const { reader } = await openReader(consumer, 'resume', retries);
    const bottom = bundle.layers[0]!;
    const entry = reader.entry(layerName(bottom.digest))!;
    const before = harness.link.requests().length;
    harness.link.inject({ method: 'GET' }, { kind: 'drop-download', afterBytes: 2 * MiB });
    harness.link.inject({ method: 'GET', skip: 1 }, { kind: 'status', status: 503 });
    harness.link.inject({ method: 'GET', skip: 2 }, { kind: 'status', status: 429, retryAfterSeconds: 0 });
    expect((await collect(reader.openEntry(layerName(bottom.digest)))).equals(bottom.bytes)).toBe(true);
    const gets = harness.link.requests().slice(before).filter((r) => r.method === 'GET');
    expect(gets.map((r) => r.fault)).toEqual(['drop-download', 'status', 'status', undefined]);
    const ranges = gets.map((r) => /^bytes=(\d+)-(\d+)$/.exec(r.range ?? '')!.slice(1).map(Number));
    expect(ranges[0]).toEqual([entry.offset - 512, entry.offset + entry.size - 1]);
    // What arrived before the drop is not fetched again.
    expect(ranges[3]![0]).toBeGreaterThan(entry.offset);
    expect(ranges[3]![1]).toBe(entry.offset + entry.size - 1);
    expect(retries).toHaveLength(3);
  });

  it('catches bytes altered on the way and content altered or truncated in storage', async () => {
    const bundle = syntheticBundle([MiB, 1000]);
    await upload(producer, 'altered', bundle);
    const bottom = bundle.layers[0]!;
    const verify = async (reader: OciArchiveReader): Promise<void> => {
      await pipeline(ownedChunks(reader.openEntry(layerName(bottom.digest))), new HashingStream({ digest: bottom.digest, size: bottom.bytes.length }), async (chunks: AsyncIterable<Buffer>) => {
        for await (const _ of chunks);
      });
    };
    const { reader } = await openReader(consumer, 'altered');
    harness.link.inject({ method: 'GET' }, { kind: 'corrupt-download', atByte: 512 + 1000 });
    await typedFailure(verify(reader), 'BLOB_DIGEST_MISMATCH');

    const layerAt = reader.entry(layerName(bottom.digest))!.offset;
    await harness.service.alterStoredContent('altered', (stored) => {
      const changed = Buffer.from(stored);
      changed.writeUInt8(changed.readUInt8(layerAt + 10) ^ 1, layerAt + 10);
      return changed;
    });
    await typedFailure(verify((await openReader(consumer, 'altered')).reader), 'BLOB_DIGEST_MISMATCH');

    await harness.service.alterStoredContent('altered', (stored) => stored.subarray(0, stored.length - 4096));
    const truncated = await openArtifact(clientFor(consumer), 'altered', { retry: RETRY });
    expect(truncated?.content.kind).toBe('unknown');
  });

  it('notices a re-run that replaces the artifact mid-read instead of mixing two uploads', async () => {
    const first = syntheticBundle([2 * MiB, 1000]);
    await upload(producer, 'rerun', first);
    const { reader } = await openReader(consumer, 'rerun');

    await harness.service.alterStoredContent('rerun', (stored) => stored);
    const changed = await typedFailure(collect(reader.openEntry(layerName(first.layers[0]!.digest))), 'ARTIFACT_SERVICE');
    expect(changed).toBeInstanceOf(BlobChangedAnswer);
    expect(changed.message).toMatch(/412.*replaced/);

    const { reader: current } = await openReader(consumer, 'rerun');
    const second = syntheticBundle([MiB, 2000]);
    const rerun = await upload(producer, 'rerun', second);
    expect(rerun.replacedId).toBeGreaterThan(0);
    // The old blob is deleted: storage answers 404, or (Azurite) 412 to the If-Match of a blob that is gone.
    const gone = await typedFailure(collect(current.openEntry(layerName(first.layers[0]!.digest))), 'ARTIFACT_SERVICE');
    expect(gone instanceof BlobGoneAnswer || gone instanceof BlobChangedAnswer).toBe(true);
    const { reader: fresh } = await openReader(consumer, 'rerun');
    expect((await fresh.entryBytes('index.json', MiB)).equals(second.index)).toBe(true);
    expect((await clientFor(consumer).listArtifacts({ name: 'rerun' })).map((a) => a.id)).toEqual([rerun.id]);
  });
});

describe('the bandwidth-limited link', () => {
  let harness: ArtifactServiceHarness;
  beforeAll(async () => {
    harness = await startArtifactService({ link: { upBytesPerSecond: 20e6, downBytesPerSecond: 40e6 } });
  });
  afterAll(async () => {
    await harness?.stop();
  });

  it('never carries bytes faster than its rate in either direction', async () => {
    const job = await harness.createJob('build-image');
    const bundle = syntheticBundle([8 * MiB]);
    const started = performance.now();
    const uploaded = await upload(job, 'slow', bundle);
    const upSeconds = (performance.now() - started) / 1000;
    // The bucket starts full (a burst of 0.4 MB); after it, 20 MB/s.
    expect(upSeconds).toBeGreaterThanOrEqual((uploaded.size - 0.4e6) / 20e6);
    const { blob } = await openReader(job, 'slow');
    const downStarted = performance.now();
    await blob.bytes(0, uploaded.size);
    expect((performance.now() - downStarted) / 1000).toBeGreaterThanOrEqual((uploaded.size - 0.8e6) / 40e6);
  });
});
