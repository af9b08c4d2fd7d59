import { createHash } from 'node:crypto';
import { appendFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { OciArchiveReader } from '../../../../src/archive/oci-archive/oci-archive-reader.ts';
import { OciArchiveWriter } from '../../../../src/archive/oci-archive/oci-archive-writer.ts';
import { fileRangeSource } from '../../../../src/archive/oci-archive/range-source.ts';
import { digestHex, sha256Digest } from '../../../../src/digest/digest.ts';
import { ArchiveBundleWriter } from '../../../../src/store/github/archive-bundle-writer.ts';
import type { StoredBlob } from '../../../../src/store/store.ts';
import { ArchiveSource } from '../../../../src/store/github/archive-source.ts';
import { FakeBlockBlob, fakeArchiveUpload } from '../../../support/fake-block-blob.ts';
import { syntheticBundle, type SyntheticBundle } from '../../../support/synthetic-bundle.ts';
import { collect, tempDirs, typedFailure } from '../support.ts';

const dirs = tempDirs('archive-writer');
afterAll(dirs.cleanup);
const blobs: FakeBlockBlob[] = [];
afterEach(async () => {
  for (const blob of blobs.splice(0)) await blob.close();
});

const KiB = 1024;
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A writer into a fake block blob, with small blocks so a layer spans several. */
async function writerFor(options: { maxStagedBytes?: number; blockSize?: number; concurrency?: number } = {}) {
  const blob = new FakeBlockBlob();
  blobs.push(blob);
  const { upload, finalized } = await fakeArchiveUpload(blob, { blockSize: options.blockSize ?? 64 * KiB, concurrency: options.concurrency ?? 2 });
  const staging = join(await dirs.make(), 'staging');
  const writer = new ArchiveBundleWriter(upload, {
    staging,
    maxStagedBytes: options.maxStagedBytes,
    describe: (u) => ({ location: `artifact ${u.id}`, details: { artifactId: u.id, artifactDigest: u.digest, artifactSize: u.size } }),
  });
  return { blob, upload, finalized, staging, writer };
}

/** The archive the writer wrote before blocks were sent ahead: every blob appended in order to one stream. */
async function streamedArchive(bundle: SyntheticBundle, order: readonly number[]): Promise<Buffer> {
  const received: Buffer[] = [];
  const capture = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received.push(Buffer.from(chunk));
      callback();
    },
  });
  const archive = new OciArchiveWriter(capture);
  for (const i of order) await archive.appendBlob(bundle.layers[i]!.digest, bundle.layers[i]!.bytes.length, Readable.from([bundle.layers[i]!.bytes]));
  archive.holdBlob(bundle.config);
  archive.holdBlob(bundle.manifest);
  await archive.finish(bundle.index);
  return Buffer.concat(received);
}

async function readArchive(bytes: Buffer) {
  const file = join(await dirs.make(), 'artifact');
  await writeFile(file, bytes);
  const opened = await OciArchiveReader.open(await fileRangeSource(file));
  if (opened.kind !== 'oci-archive') throw new Error(`read as ${opened.kind}`);
  return { file, reader: opened.reader };
}

/** A fill that writes the layer to its file at once, as a fast compressor would. */
const fillWith = (bytes: Buffer) => async (path: string): Promise<void> => await writeFile(path, bytes, { flag: 'wx' });

describe('ArchiveBundleWriter: layers uploaded while they are compressed', () => {
  it('commits byte for byte the archive the streaming writer wrote, with the sha256 of the committed bytes', async () => {
    // Sizes around the 64 KiB block: several blocks, a short last one, exact multiples of blocks and of 512.
    const bundle = syntheticBundle([300_000, 128 * KiB, 1000, 64 * KiB + 1]);
    const { blob, finalized, writer } = await writerFor();
    for (const layer of bundle.layers) expect(await writer.writeBlobWith(fillWith(layer.bytes))).toMatchObject({ digest: layer.digest, written: true });
    await writer.putBlob(bundle.config);
    await writer.putBlob(bundle.manifest);
    const published = await writer.publish(bundle.index);

    expect(blob.committed?.equals(await streamedArchive(bundle, [0, 1, 2, 3]))).toBe(true);
    expect(finalized).toEqual([{ size: blob.committed!.length, sha256: sha256(blob.committed!) }]);
    expect(published.details).toMatchObject({ artifactDigest: `sha256:${sha256(blob.committed!)}`, artifactSize: blob.committed!.length });
    // Each layer's header is in a short block (with the padding before it), committed before the layer's blocks though sent after them.
    const headerAt = (i: number) => blob.requests.findIndex((r) => r.comp === 'block' && r.size < 1024 && r.head.toString('latin1').includes(digestHex(bundle.layers[i]!.digest)));
    const firstDataAt = (i: number) => blob.requests.findIndex((r) => r.comp === 'block' && r.head.subarray(0, 512).equals(bundle.layers[i]!.bytes.subarray(0, 512)));
    for (const i of [0, 1, 2, 3]) {
      expect(firstDataAt(i)).toBeGreaterThanOrEqual(0);
      expect(headerAt(i)).toBeGreaterThan(firstDataAt(i));
    }
    // Block sizes vary: 512-byte header blocks, full blocks, short last ones; the list is the archive in order.
    expect(blob.committedBlocks[0]).toBe(512);
    expect(blob.committedBlocks.slice(1, 6)).toEqual([64 * KiB, 64 * KiB, 64 * KiB, 64 * KiB, 300_000 - 4 * 64 * KiB]);
    expect(blob.committedBlocks.reduce((sum, size) => sum + size, 0)).toBe(blob.committed!.length);
  });

  it('sends blocks of a layer while it is still being written, and places the layer once it is whole', async () => {
    const bundle = syntheticBundle([10 * 64 * KiB + 100]);
    const layer = bundle.layers[0]!.bytes;
    const { blob, writer } = await writerFor();
    let whole = false;
    const stored = writer.writeBlobWith(async (path) => {
      await writeFile(path, layer.subarray(0, 5 * 64 * KiB), { flag: 'wx' });
      // The compressor goes on only once storage has blocks of what it wrote so far (or never, and the test times out).
      await blob.blocksReceived(3);
      await wait(20);
      await appendFile(path, layer.subarray(5 * 64 * KiB));
      whole = true;
    });
    await blob.blocksReceived(3);
    expect(whole).toBe(false);
    expect(await stored).toMatchObject({ digest: bundle.layers[0]!.digest, size: layer.length, written: true });
    await writer.putBlob(bundle.config);
    await writer.putBlob(bundle.manifest);
    await writer.publish(bundle.index);
    expect(blob.committed?.equals(await streamedArchive(bundle, [0]))).toBe(true);
  });

  it('places layers in the order they complete, and a layer already placed is not placed again', async () => {
    const bundle = syntheticBundle([400_000, 1000]);
    const { blob, writer } = await writerFor();
    let releaseBig = (): void => undefined;
    const bigMayEnd = new Promise<void>((resolve) => (releaseBig = resolve));
    const big = writer.writeBlobWith(async (path) => {
      await writeFile(path, bundle.layers[0]!.bytes.subarray(0, 200_000), { flag: 'wx' });
      await bigMayEnd;
      await appendFile(path, bundle.layers[0]!.bytes.subarray(200_000));
    });
    await writer.writeBlobWith(fillWith(bundle.layers[1]!.bytes));
    releaseBig();
    await big;
    expect((await writer.writeBlobWith(fillWith(bundle.layers[1]!.bytes))).written).toBe(false);
    await writer.putBlob(bundle.config);
    await writer.putBlob(bundle.manifest);
    await writer.publish(bundle.index);
    expect(blob.committed?.equals(await streamedArchive(bundle, [1, 0]))).toBe(true);
  });

  it('many layers sent ahead at once share the blocks in flight: all placed once the network takes them, the sha256 that of the committed bytes', async () => {
    const { blob, writer, finalized } = await writerFor({ concurrency: 1 });
    blob.hold();
    const bundle = syntheticBundle([200_000, 150_000, 100_000, 70_000, 5000, 1]);
    const writes = bundle.layers.map((layer) => writer.writeBlobWith(fillWith(layer.bytes)));
    await wait(50);
    // One block in flight, held; the other senders wait for their turn, each with at most one block filled.
    expect(blob.requests.filter((r) => r.comp === 'block')).toHaveLength(1);
    blob.release();
    expect((await Promise.all(writes)).map((s) => s.digest)).toEqual(bundle.layers.map((l) => l.digest));
    await writer.putBlob(bundle.config);
    await writer.putBlob(bundle.manifest);
    await writer.publish(bundle.index);
    expect(finalized).toEqual([{ size: blob.committed!.length, sha256: sha256(blob.committed!) }]);
    const { file, reader } = await readArchive(blob.committed!);
    const source = new ArchiveSource('docker-image', file, reader);
    for (const layer of bundle.layers) expect((await collect(await source.openBlob(layer.digest))).equals(layer.bytes)).toBe(true);
  });

  it('stages layers up to its byte bound while the network holds back, and publishes a readable archive', async () => {
    const { blob, writer, staging } = await writerFor({ maxStagedBytes: 450_000 });
    blob.hold();
    const bundle = syntheticBundle([300_000, 200_000, 100_000]);
    const filled: number[] = [];
    const fill = (i: number) => async (path: string): Promise<void> => {
      filled.push(i);
      await writeFile(path, bundle.layers[i]!.bytes, { flag: 'wx' });
    };
    // As the export calls it: each layer once the one before has been compressed.
    const writes: Array<Promise<StoredBlob>> = [];
    for (const i of [0, 1, 2]) {
      writes.push(writer.writeBlobWith(fill(i)));
      await wait(30);
    }
    // The network takes nothing: 500 000 bytes are staged, over the bound; the third layer waits before it is even produced.
    expect(filled).toEqual([0, 1]);
    expect((await readdir(staging)).length).toBeLessThanOrEqual(2);
    blob.release();
    const stored = await Promise.all(writes);
    expect(stored.map((s) => s.digest)).toEqual(bundle.layers.map((l) => l.digest));
    expect(filled).toEqual([0, 1, 2]);
    expect(await readdir(staging)).toEqual([]);
    await writer.putBlob(bundle.config);
    await writer.putBlob(bundle.manifest);
    const published = await writer.publish(bundle.index);
    expect(published).toMatchObject({ name: 'docker-image', digest: bundle.digest, location: 'artifact 7', details: { artifactId: 7 } });
    await writer.discard();

    const { file, reader } = await readArchive(blob.committed!);
    const layers = reader.entries.filter((e) => bundle.layers.some((l) => e.name === `blobs/sha256/${digestHex(l.digest)}`));
    expect(layers.map((e) => e.size).sort()).toEqual([100_000, 200_000, 300_000]);
    const source = new ArchiveSource('docker-image', file, reader);
    expect(Buffer.from(await source.readIndex()).equals(bundle.index)).toBe(true);
    expect((await collect(await source.openBlob(bundle.layers[1]!.digest))).equals(bundle.layers[1]!.bytes)).toBe(true);
    await typedFailure(source.openBlob(sha256Digest(Buffer.from('absent'))), 'BLOB_MISSING');
  });

  it('streams a blob whose digest is known straight in, and fails the bundle when it does not match', async () => {
    const { blob, writer, staging } = await writerFor();
    const bundle = syntheticBundle([50_000, 40_000]);
    const [first, second] = bundle.layers;
    expect(await writer.writeBlob(Readable.from([first!.bytes]), { expected: { digest: first!.digest, size: first!.bytes.length } })).toMatchObject({ written: true });
    // Nothing was staged on disk for it.
    await expect(readdir(staging)).rejects.toThrow(/ENOENT/);
    const forged = Buffer.from(second!.bytes);
    forged.writeUInt8(forged.readUInt8(10) ^ 1, 10);
    await typedFailure(writer.writeBlob(Readable.from([forged]), { expected: { digest: second!.digest, size: forged.length } }), 'BLOB_DIGEST_MISMATCH');
    await typedFailure(writer.publish(bundle.index), 'BLOB_DIGEST_MISMATCH');
    expect(blob.committed).toBeUndefined();
    await writer.discard();
  });
});

describe('ArchiveBundleWriter: a failure mid-layer commits nothing', () => {
  it('the compressor failing after blocks were sent: typed, nothing committed, nothing left staged', async () => {
    const { blob, writer, staging, finalized } = await writerFor();
    const bundle = syntheticBundle([300_000]);
    const failed = writer.writeBlobWith(async (path) => {
      await writeFile(path, bundle.layers[0]!.bytes.subarray(0, 200_000), { flag: 'wx' });
      await blob.blocksReceived(1);
      throw Object.assign(new Error('zstd exited with status 1: No space left on device'), { code: 'ENOSPC' });
    });
    await typedFailure(failed, 'STORE_FULL');
    expect(blob.requests.some((r) => r.comp === 'block')).toBe(true);
    await expect(writer.publish(bundle.index)).rejects.toThrow();
    await writer.discard();
    expect(blob.requests.some((r) => r.comp === 'blocklist')).toBe(false);
    expect(blob.committed).toBeUndefined();
    expect(finalized).toEqual([]);
    await expect(readdir(staging)).rejects.toThrow(/ENOENT/);
  });

  it('storage refusing a block of a layer: the layer fails typed, the bundle with it, nothing committed', async () => {
    const { blob, writer, finalized } = await writerFor();
    const bundle = syntheticBundle([600_000, 1000]);
    blob.refuseBlock(3);
    await typedFailure(writer.writeBlobWith(fillWith(bundle.layers[0]!.bytes)), 'ARTIFACT_SERVICE');
    await expect(writer.writeBlobWith(fillWith(bundle.layers[1]!.bytes))).rejects.toThrow();
    await typedFailure(writer.publish(bundle.index), 'ARTIFACT_SERVICE');
    await writer.discard();
    expect(blob.requests.some((r) => r.comp === 'blocklist')).toBe(false);
    expect(finalized).toEqual([]);
  });

  it('discard before publish stops the upload, fails a layer waiting for its turn and removes what was staged', async () => {
    const { blob, writer, staging, finalized } = await writerFor({ maxStagedBytes: 1 });
    blob.hold();
    const bundle = syntheticBundle([100_000, 100_000]);
    const first = writer.writeBlobWith(fillWith(bundle.layers[0]!.bytes));
    const second = writer.writeBlobWith(fillWith(bundle.layers[1]!.bytes));
    first.catch(() => undefined);
    second.catch(() => undefined);
    await wait(50);
    await writer.discard();
    blob.release();
    await expect(first).rejects.toThrow();
    await expect(second).rejects.toThrow(/stopped before the bundle was published/);
    expect(blob.requests.some((r) => r.comp === 'blocklist')).toBe(false);
    expect(finalized).toEqual([]);
    await expect(readdir(staging)).rejects.toThrow(/ENOENT/);
  });
});
