import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { readImageArchive, type ImageArchive, type LayerBlob, type LayerSink } from '../../archive/image-archive.ts';
import { layerMediaType, type Compression } from '../../bundle/media-types.ts';
import { compressToFile } from '../../compression/compress-to-file.ts';
import { decompressor, type ZstdCodec } from '../../compression/codecs.ts';
import type { Engine, ImageInfo } from '../../engine/engine.ts';
import { FileNotFoundError, ImageNotFoundError, MalformedArchiveError, describeCause } from '../../errors.ts';
import { lend, ownedChunks, type BorrowedChunks } from '../../io/borrowed-chunks.ts';
import { countBytes } from '../../io/byte-counter.ts';
import { spentBufferCollector } from '../../io/spent-buffers.ts';
import type { BundleWriter } from '../../store/store.ts';
import type { PhaseClock, ProgressListener } from '../progress.ts';
import { checkBottomReuse, giveBottomLayerAHeadStart, headStartBytes, type Counted, type HeadStartPolicy } from './head-start.ts';

/** Asks the engine about each source; a missing one fails before any other work. */
export async function inspectSources(engine: Engine, references: readonly string[]): Promise<ImageInfo[]> {
  const infos: ImageInfo[] = [];
  for (const reference of references) {
    const info = await engine.inspectImage(reference);
    if (info === undefined) {
      throw new ImageNotFoundError(`The engine at ${engine.endpoint} has no image '${reference}'.`, {
        hint: 'Build the image on this engine first (docker build -t …), check the name and tag, or set DOCKER_HOST to the engine that built it.',
        details: { reference, endpoint: engine.endpoint },
      });
    }
    infos.push(info);
  }
  return infos;
}

export async function openArchive(path: string): Promise<{ stream: Readable; size: number }> {
  const hint = 'Pass the file docker save -o or buildx (type=docker,dest= or type=oci,dest=) wrote.';
  let stats;
  try {
    stats = await stat(path);
  } catch (error) {
    throw new FileNotFoundError(`Cannot read the archive ${path}: ${describeCause(error)}.`, { hint });
  }
  if (stats.isDirectory()) throw new FileNotFoundError(`The archive ${path} is a directory, not a file.`, { hint });
  return { stream: createReadStream(path, { highWaterMark: 1024 * 1024 }), size: stats.size };
}

/**
 * How layers go into the bundle: plain tars compressed with `compression`
 * and compressed ones kept as they came ('as-built'), or every layer
 * re-encoded to `compression` ('transcode': it changes the manifest digest).
 */
export type LayerPolicy = { compression: Compression; transcode: boolean };

/** A compressed layer decompressed as it streams, for transcoding. */
function decompressed(body: BorrowedChunks, kind: Exclude<Compression, 'none'>): BorrowedChunks {
  const plain = Readable.from(ownedChunks(body)).compose(decompressor(kind)) as Readable;
  return (async function* () {
    for await (const chunk of plain) yield lend(chunk as Buffer);
  })();
}

/** Stores each layer as it streams out of the archive, compressing plain tars (see LayerPolicy). */
export function layerSink(writer: BundleWriter, policy: LayerPolicy, codec: ZstdCodec, signal: AbortSignal | undefined): LayerSink {
  const { compression } = policy;
  return async (stored, storedKind, knownDigest) => {
    const transcode = policy.transcode && storedKind !== 'tar' && storedKind !== compression;
    const body = transcode ? decompressed(stored, storedKind) : stored;
    const kind = transcode ? 'tar' : storedKind;
    if (kind !== 'tar' || compression === 'none') {
      const source = Readable.from(ownedChunks(body), { objectMode: false });
      const blob = await writer.writeBlob(source, signal === undefined ? {} : { signal });
      if (knownDigest !== undefined && !transcode && blob.digest !== knownDigest) {
        throw new MalformedArchiveError(`Archive blob ${knownDigest} does not match its digest (its content hashes to ${blob.digest}).`, {
          hint: 'The archive is corrupt; write it again.',
        });
      }
      const mediaType = kind === 'tar' ? layerMediaType('none') : layerMediaType(kind);
      return { ...blob, mediaType, uncompressedSize: kind === 'tar' ? blob.size : undefined };
    }
    let uncompressedSize = 0;
    let consumed = (): void => undefined;
    const bodyDone = new Promise<void>((resolve) => (consumed = resolve));
    const written = writer.writeBlobWith(async (path) => {
      uncompressedSize = await compressToFile(body, path, compression, { codec, signal });
      consumed();
    });
    // The store hashes the file it wrote while the next layer streams.
    await Promise.race([bodyDone, written]);
    const pending = written.then((blob): LayerBlob => ({ ...blob, mediaType: layerMediaType(compression), uncompressedSize }));
    return { pending };
  };
}

export interface ReadImagesOptions {
  sink: LayerSink;
  clock: PhaseClock;
  signal: AbortSignal | undefined;
  onProgress: ProgressListener | undefined;
}

/** What was read: the images and indexes, with their layers in the store, and the bytes read. */
export interface ImagesRead {
  archive: ImageArchive;
  bytesRead: number;
}

/** Counts what is read for progress, against an expected total. */
function byteMeter(total: number, onProgress: ProgressListener | undefined): { counted: Counted; read: () => number } {
  const spent = spentBufferCollector();
  let read = 0;
  const counted: Counted = (stream) => {
    const before = read;
    const counter = countBytes(stream, (bytes) => onProgress?.({ phase: 'export', bytes: before + bytes, total }), spent);
    return { stream: counter.stream, done: () => (read = before + counter.bytes()) };
  };
  return { counted, read: () => read };
}

/** Reads the images out of an archive file, storing each layer as it streams. */
export async function readArchiveImages(path: string, options: ReadImagesOptions): Promise<ImagesRead> {
  options.clock.start('open archive');
  const file = await openArchive(path);
  const meter = byteMeter(file.size, options.onProgress);
  options.clock.start('stream');
  const input = meter.counted(file.stream);
  const archive = await readImageArchive(input.stream, options.sink);
  input.done();
  return { archive, bytesRead: meter.read() };
}

/**
 * Reads the images out of the engine's save, storing each layer as it
 * streams; a large bottom layer gets a head start (see head-start.ts).
 */
export async function readEngineImages(
  engine: Engine,
  references: readonly string[],
  infos: readonly ImageInfo[],
  options: ReadImagesOptions & { headStartBytes: HeadStartPolicy },
): Promise<ImagesRead> {
  const { clock, signal, sink } = options;
  const bottomBytes = await headStartBytes(engine, references, infos, options.headStartBytes);
  const meter = byteMeter(infos.reduce((sum, info) => sum + info.size, 0) + (bottomBytes ?? 0), options.onProgress);
  const head =
    bottomBytes === undefined ? undefined : await giveBottomLayerAHeadStart({ engine, references, info: infos[0]!, sink, counted: meter.counted, clock, signal });
  clock.start('engine read');
  const stream = await (head?.fullSave ?? engine.saveImages(references, signal));
  clock.start('stream');
  const input = meter.counted(stream);
  const archive = await readImageArchive(input.stream, sink, { reuse: head?.bottom?.reuse });
  input.done();
  if (head?.bottom !== undefined) checkBottomReuse(archive.images, head.bottom.blob, head.bottom.reused);
  return { archive, bytesRead: meter.read() };
}
