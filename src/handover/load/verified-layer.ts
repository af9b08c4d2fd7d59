import { Writable, PassThrough, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { layerCompression } from '../../bundle/media-types.ts';
import type { Descriptor } from '../../bundle/model.ts';
import { decompressor, useZstdCommand, type ZstdCodec } from '../../compression/codecs.ts';
import { startZstdDecompression } from '../../compression/decompress-file.ts';
import { hashFile } from '../../digest/hash-file.ts';
import { ExactSizeStream, wrongSize } from '../../digest/exact-size-stream.ts';
import { HashingStream, digestMismatch, sizeMismatch } from '../../digest/hashing-stream.ts';
import { MalformedBundleError, describeCause, isHandoverError } from '../../errors.ts';
import type { BorrowedChunk } from '../../io/borrowed-chunks.ts';
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
 */
export async function* verifiedLayer(source: BundleSource, layer: Descriptor, size: number | undefined, label: string, read: LayerReading): AsyncGenerator<Buffer> {
  const { onBytes } = read;
  const compression = layerCompression(layer.mediaType) ?? 'none';
  if (compression === 'zstd' && size !== undefined && source.blobFile !== undefined && useZstdCommand(read.zstd)) {
    const path = await source.blobFile(layer.digest);
    // Without a private socket (an unusable TMPDIR) the layer is decompressed in process instead.
    const chunks = await startZstdDecompression(path).catch(() => undefined);
    if (chunks !== undefined) {
      yield* zstdLayerFromFile(path, chunks, layer, size, label, onBytes);
      return;
    }
  }
  const stages: Transform[] = [new HashingStream({ digest: layer.digest, size: layer.size, label })];
  if (compression !== 'none' && size !== undefined) stages.push(decompressor(compression), new ExactSizeStream(size, `${label} (uncompressed)`));
  const blob = await source.openBlob(layer.digest);
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
    throw await explainUnreadableLayer(source, layer, label, error);
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
async function* zstdLayerFromFile(path: string, decompressed: AsyncGenerator<BorrowedChunk>, layer: Descriptor, size: number, label: string, onBytes: (n: number) => void): AsyncGenerator<BorrowedChunk> {
  const expected = { digest: layer.digest, size: layer.size, label };
  const hashed = hashFile(path);
  hashed.catch(() => undefined); // awaited below
  const checked = async (): Promise<void> => {
    const actual = await hashed;
    if (actual.size !== expected.size) throw sizeMismatch(expected, String(actual.size));
    if (actual.digest !== expected.digest) throw digestMismatch(expected, actual.digest);
  };
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
 * Hashes the stored layer whole to say why it could not be decompressed:
 * almost always because it is not what the producer wrote.
 */
async function explainUnreadableLayer(source: BundleSource, layer: Descriptor, label: string, cause: unknown): Promise<Error> {
  try {
    await pipeline(await source.openBlob(layer.digest), new HashingStream({ digest: layer.digest, size: layer.size, label }), new Writable({ write: (_c, _e, cb) => cb() }));
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  return undecompressable(label, cause);
}

/** The error for a layer whose blob is the recorded one but does not decompress. */
function undecompressable(label: string, cause: unknown): MalformedBundleError {
  return new MalformedBundleError(`${label} matches its digest but cannot be decompressed: ${describeCause(cause)}.`, {
    hint: 'The producer wrote a damaged layer. Export the image again.',
    cause,
  });
}
