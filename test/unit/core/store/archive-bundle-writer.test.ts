import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { OciArchiveReader } from '../../../../src/archive/oci-archive/oci-archive-reader.ts';
import { OciArchiveWriter } from '../../../../src/archive/oci-archive/oci-archive-writer.ts';
import { fileRangeSource } from '../../../../src/archive/oci-archive/range-source.ts';
import { digestHex, sha256Digest } from '../../../../src/digest/digest.ts';
import { ArchiveBundleWriter, type ArchiveSink } from '../../../../src/store/github/archive-bundle-writer.ts';
import type { StoredBlob } from '../../../../src/store/store.ts';
import { ArchiveSource } from '../../../../src/store/github/archive-source.ts';
import { syntheticBundle } from '../../../support/synthetic-bundle.ts';
import { collect, tempDirs, typedFailure } from '../support.ts';

const dirs = tempDirs('archive-writer');
afterAll(dirs.cleanup);

/** A network stand-in: takes nothing until opened, then everything, keeping a copy. */
class GatedSink extends Writable {
  readonly received: Buffer[] = [];
  private open = false;
  private readonly held: Array<() => void> = [];

  constructor() {
    super({ highWaterMark: 1 });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const take = (): void => {
      this.received.push(Buffer.from(chunk));
      callback();
    };
    if (this.open) take();
    else this.held.push(take);
  }

  release(): void {
    this.open = true;
    for (const take of this.held.splice(0)) take();
  }

  get bytes(): Buffer {
    return Buffer.concat(this.received);
  }
}

function sinkFor(gate: GatedSink): ArchiveSink & { finished: number } {
  const archive = new OciArchiveWriter(gate);
  const sink = {
    archive,
    finished: 0,
    get bytes() {
      return archive.offset;
    },
    async finish(index: Uint8Array) {
      const written = await archive.finish(index);
      sink.finished++;
      return { name: 'docker-image', id: 7, size: written.size, digest: sha256Digest(gate.bytes), replacedId: undefined };
    },
    abort: (error?: Error) => gate.destroy(error),
  };
  return sink;
}

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('ArchiveBundleWriter: a bundle streamed into a single-file artifact', () => {
  it('stages layers up to its byte bound while the network holds back, appends them as they complete, and publishes a readable archive', async () => {
    const staging = join(await dirs.make(), 'staging');
    const gate = new GatedSink();
    const sink = sinkFor(gate);
    const writer = new ArchiveBundleWriter(sink, { staging, maxStagedBytes: 450_000, describe: (u) => ({ location: `artifact ${u.id}`, details: { artifactId: u.id } }) });
    const bundle = syntheticBundle([300_000, 200_000, 100_000]);
    const filled: number[] = [];
    const fill = (i: number) => async (path: string): Promise<void> => {
      filled.push(i);
      await writeFile(path, bundle.layers[i]!.bytes);
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
    gate.release();
    const stored = await Promise.all(writes);
    expect(stored.map((s) => s.digest)).toEqual(bundle.layers.map((l) => l.digest));
    expect(filled).toEqual([0, 1, 2]);
    expect(await readdir(staging)).toEqual([]);
    // A layer already in the archive is not written again.
    expect((await writer.writeBlobWith(fill(0))).written).toBe(false);
    await writer.putBlob(bundle.config);
    await writer.putBlob(bundle.manifest);
    const published = await writer.publish(bundle.index);
    expect(published).toMatchObject({ name: 'docker-image', digest: bundle.digest, location: 'artifact 7', details: { artifactId: 7 } });
    await writer.discard();

    const file = join(await dirs.make(), 'artifact');
    await writeFile(file, gate.bytes);
    const opened = await OciArchiveReader.open(await fileRangeSource(file));
    if (opened.kind !== 'oci-archive') throw new Error(`read as ${opened.kind}`);
    const layers = opened.reader.entries.filter((e) => bundle.layers.some((l) => e.name === `blobs/sha256/${digestHex(l.digest)}`));
    // In the order they completed, which need not be the order they were begun.
    expect(layers.map((e) => e.size).sort()).toEqual([100_000, 200_000, 300_000]);
    const source = new ArchiveSource('docker-image', file, opened.reader);
    expect(Buffer.from(await source.readIndex()).equals(bundle.index)).toBe(true);
    expect((await collect(await source.openBlob(bundle.layers[1]!.digest))).equals(bundle.layers[1]!.bytes)).toBe(true);
    await typedFailure(source.openBlob(sha256Digest(Buffer.from('absent'))), 'BLOB_MISSING');
  });

  it('streams a blob whose digest is known straight in, and fails the bundle when it does not match', async () => {
    const staging = join(await dirs.make(), 'staging');
    const gate = new GatedSink();
    gate.release();
    const sink = sinkFor(gate);
    const writer = new ArchiveBundleWriter(sink, { staging, describe: () => ({ location: '', details: {} }) });
    const bundle = syntheticBundle([50_000, 40_000]);
    const [first, second] = bundle.layers;
    expect(await writer.writeBlob(Readable.from([first!.bytes]), { expected: { digest: first!.digest, size: first!.bytes.length } })).toMatchObject({ written: true });
    // Nothing was staged on disk for it.
    await expect(readdir(staging)).rejects.toThrow(/ENOENT/);
    const forged = Buffer.from(second!.bytes);
    forged.writeUInt8(forged.readUInt8(10) ^ 1, 10);
    await typedFailure(writer.writeBlob(Readable.from([forged]), { expected: { digest: second!.digest, size: forged.length } }), 'BLOB_DIGEST_MISMATCH');
    await typedFailure(writer.publish(bundle.index), 'BLOB_DIGEST_MISMATCH');
    expect(sink.finished).toBe(0);
    expect(gate.destroyed).toBe(true);
    await writer.discard();
  });

  it('discard before publish stops the upload, fails a layer waiting for its turn and removes what was staged', async () => {
    const staging = join(await dirs.make(), 'staging');
    const gate = new GatedSink();
    const sink = sinkFor(gate);
    const writer = new ArchiveBundleWriter(sink, { staging, maxStagedBytes: 1, describe: () => ({ location: '', details: {} }) });
    const bundle = syntheticBundle([100_000, 100_000]);
    const first = writer.writeBlobWith(async (path) => await writeFile(path, bundle.layers[0]!.bytes));
    const second = writer.writeBlobWith(async (path) => await writeFile(path, bundle.layers[1]!.bytes));
    first.catch(() => undefined);
    second.catch(() => undefined);
    await wait(50);
    await writer.discard();
    await expect(first).rejects.toThrow();
    await expect(second).rejects.toThrow(/stopped before the bundle was published/);
    expect(gate.destroyed).toBe(true);
    expect(sink.finished).toBe(0);
    await expect(readdir(staging)).rejects.toThrow(/ENOENT/);
  });
});
