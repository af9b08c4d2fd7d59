import { createHash } from 'node:crypto';
import { PassThrough, Readable, type Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { layerCompression } from '../../bundle/media-types.ts';
import type { Descriptor } from '../../bundle/model.ts';
import { decompressor, useZstdCommand, type ZstdCodec } from '../../compression/codecs.ts';
import { startZstdDecompression } from '../../compression/decompress-file.ts';
import { hashFile } from '../../digest/hash-file.ts';
import { ExactSizeStream, wrongSize } from '../../digest/exact-size-stream.ts';
import { HashingStream, digestMismatch, sizeMismatch, type ExpectedBlob } from '../../digest/hashing-stream.ts';
import { verifiedChunks } from '../../digest/verified-chunks.ts';
import { MalformedBundleError, describeCause, isHandoverError } from '../../errors.ts';
import { ownedChunks, type BorrowedChunk } from '../../io/borrowed-chunks.ts';
import type { BundleSource } from '../../store/store.ts';

/** How layers are read: the zstd codec, and who counts the bytes handed on. */
export interface LayerReading {
  zstd: ZstdCodec;
  onBytes: (n: number) => void;
  /** Whether the engine decompresses zstd layers itself (Docker 25+, Podman): else handover must. */
  engineReadsZstd: boolean;
}

/**
 * Streams a layer out of the store, hashed against the layer digest, and
 * decompressed to exactly the size the producer recorded. Its content is
 * then checked by the engine itself, which computes each layer's diff id as
 * it registers it and refuses one the config does not list. Without a
 * recorded size the stored bytes go to the engine as they are.
 *
 * Four ways, by what the store and the layer allow: a zstd layer kept in a
 * file is read by the zstd command itself; one read as a stream (a range of
 * an artifact) is written into the zstd command's stdin, hashed on the way;
 * bytes that go to the engine as stored are hashed and passed on; the rest
 * (gzip, or zstd in process) is decompressed by Node's zlib. The first three
 * never copy a chunk.
 */
export async function* verifiedLayer(source: BundleSource, layer: Descriptor, size: number | undefined, label: string, read: LayerReading): AsyncGenerator<Buffer> {
  const { onBytes } = read;
  const expected: ExpectedBlob = { digest: layer.digest, size: layer.size, label };
  const compression = layerCompression(layer.mediaType) ?? 'none';
  if (compression === 'zstd' && size !== undefined && useZstdCommand(read.zstd)) {
    if (source.blobFile !== undefined) {
      const path = await source.blobFile(layer.digest);
      // Without a private socket (an unusable TMPDIR) the layer is decompressed in process instead.
      const chunks = await startZstdDecompression(path).catch(() => undefined);
      if (chunks !== undefined) {
        yield* zstdLayerFromFile(path, chunks, expected, size, onBytes);
        return;
      }
    } else {
      const feed = new CompressedFeed(source, expected);
      const chunks = await startZstdDecompression(async (stdin) => await feed.into(stdin)).catch(() => undefined);
      if (chunks !== undefined) {
        yield* zstdLayerFromFeed(feed, chunks, expected, size, onBytes);
        return;
      }
    }
  }
  if (compression === 'none' || size === undefined) {
    for await (const chunk of verifiedChunks(await source.openBlob(layer.digest), expected)) {
      onBytes(chunk.length);
      yield chunk;
    }
    return;
  }
  const stages: Transform[] = [new HashingStream(expected), decompressor(compression), new ExactSizeStream(size, `${label} (uncompressed)`)];
  // Node's streams hold several chunks at once: they get copies.
  const blob = Readable.from(ownedChunks(await source.openBlob(layer.digest)), { objectMode: false });
  // Object mode hands each decompressed chunk on as it is: a byte-mode reader would join them into new buffers.
  const out = new PassThrough({ readableObjectMode: true, readableHighWaterMark: 4 });
  const done = pipeline([blob, ...stages, out]);
  // Observed below; this keeps an early stop by the consumer from surfacing as an unhandled rejection.
  done.catch(() => undefined);
  try {
    for await (const chunk of out) {
      onBytes((chunk as Buffer).length);
      yield chunk as Buffer;
    }
    await done;
  } catch (error) {
    if (isHandoverError(error)) throw error;
    // The decompressor failed before the digest check at the end could run.
    throw await explainUnreadableLayer(source, expected, error);
  } finally {
    if (!out.readableEnded) out.destroy();
  }
}

/**
 * The same for a zstd layer kept in a file, through the zstd command: the
 * file is hashed while zstd decompresses it, and the layer ends only once
 * both agree with the record, so the engine never gets a layer whose blob
 * does not match.
 */
async function* zstdLayerFromFile(path: string, decompressed: AsyncGenerator<BorrowedChunk>, expected: ExpectedBlob, size: number, onBytes: (n: number) => void): AsyncGenerator<BorrowedChunk> {
  const hashed = hashFile(path);
  hashed.catch(() => undefined); // awaited below
  const checked = async (): Promise<void> => {
    const actual = await hashed;
    if (actual.size !== expected.size) throw sizeMismatch(expected, String(actual.size));
    if (actual.digest !== expected.digest) throw digestMismatch(expected, actual.digest);
  };
  const label = expected.label ?? expected.digest;
  let count = 0;
  try {
    for await (const chunk of decompressed) {
      count += chunk.length;
      if (count > size) throw wrongSize(`${label} (uncompressed)`, size, `more than ${size}`);
      onBytes(chunk.length);
      yield chunk;
    }
  } catch (error) {
    // A blob that is not what was recorded explains a failed decompression best.
    await checked();
    if (isHandoverError(error)) throw error;
    throw undecompressable(label, error);
  }
  await checked();
  if (count !== size) throw wrongSize(`${label} (uncompressed)`, size, String(count));
}

/**
 * A stored layer written into zstd's stdin as it is read (by range, from an
 * artifact), each borrowed chunk hashed and written before the next is
 * asked for. The feed ends only once the whole blob matched its record, and
 * fails otherwise, which stops zstd; so the decompressed layer ends cleanly
 * only for a blob that matched. Should zstd quit first (its input is not
 * zstd), the rest of the blob is still read and hashed, so that an altered
 * blob is reported as altered rather than as undecompressable.
 */
class CompressedFeed {
  private readonly source: BundleSource;
  private readonly expected: ExpectedBlob;
  private stopped = false;

  constructor(source: BundleSource, expected: ExpectedBlob) {
    this.source = source;
    this.expected = expected;
  }

  /** Stops reading at the next chunk (the consumer gave up on the layer). */
  stop(): void {
    this.stopped = true;
  }

  async into(stdin: Writable): Promise<void> {
    const { expected } = this;
    const hash = createHash('sha256');
    let count = 0;
    let pipeOpen = true;
    for await (const chunk of await this.source.openBlob(expected.digest)) {
      if (this.stopped) return;
      count += chunk.length;
      if (count > expected.size) throw sizeMismatch(expected, `more than ${expected.size}`);
      hash.update(chunk);
      if (!pipeOpen) continue;
      try {
        await writeChunk(stdin, chunk);
      } catch {
        // zstd quit (its exit says why); hash the rest to tell an altered blob from a damaged one.
        pipeOpen = false;
      }
    }
    if (count !== expected.size) throw sizeMismatch(expected, String(count));
    const actual = `sha256:${hash.digest('hex')}` as const;
    if (actual !== expected.digest) throw digestMismatch(expected, actual);
  }
}

/** Writes one chunk and waits until the pipe has taken it, so the chunk's buffer may be reused. */
function writeChunk(stdin: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    stdin.write(chunk, (error) => (error === null || error === undefined ? resolve() : reject(error)));
  });
}

async function* zstdLayerFromFeed(feed: CompressedFeed, decompressed: AsyncGenerator<BorrowedChunk>, expected: ExpectedBlob, size: number, onBytes: (n: number) => void): AsyncGenerator<BorrowedChunk> {
  const label = expected.label ?? expected.digest;
  let count = 0;
  try {
    for await (const chunk of decompressed) {
      count += chunk.length;
      if (count > size) throw wrongSize(`${label} (uncompressed)`, size, `more than ${size}`);
      onBytes(chunk.length);
      yield chunk;
    }
  } catch (error) {
    // The feed's own failure (a blob that did not match, a download that failed) comes through as it is.
    if (isHandoverError(error)) throw error;
    throw undecompressable(label, error);
  } finally {
    feed.stop();
  }
  if (count !== size) throw wrongSize(`${label} (uncompressed)`, size, String(count));
}

/**
 * Hashes the stored layer whole to say why it could not be decompressed:
 * almost always because it is not what the producer wrote.
 */
async function explainUnreadableLayer(source: BundleSource, expected: ExpectedBlob, cause: unknown): Promise<Error> {
  try {
    for await (const _ of verifiedChunks(await source.openBlob(expected.digest), expected));
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  return undecompressable(expected.label ?? expected.digest, cause);
}

/** The error for a layer whose blob is the recorded one but does not decompress. */
function undecompressable(label: string, cause: unknown): MalformedBundleError {
  return new MalformedBundleError(`${label} matches its digest but cannot be decompressed: ${describeCause(cause)}.`, {
    hint: 'The producer wrote a damaged layer. Export the image again.',
    cause,
  });
}
