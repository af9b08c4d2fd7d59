import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { readImageArchive, type ImageArchive, type LayerBlob, type LayerSink } from '../../archive/image-archive.ts';
import { layerMediaType, type Compression } from '../../bundle/media-types.ts';
import { compressToFile } from '../../compression/compress-to-file.ts';
import type { ZstdCodec } from '../../compression/codecs.ts';
import type { Engine, ImageInfo } from '../../engine/engine.ts';
import { FileNotFoundError, ImageNotFoundError, MalformedArchiveError, describeCause } from '../../errors.ts';
import { ownedChunks } from '../../io/borrowed-chunks.ts';
import { countBytes } from '../../io/byte-counter.ts';
import { spentBufferCollector } from '../../io/spent-buffers.ts';
import type { BundleWriter } from '../../store/store.ts';
import type { PhaseClock, ProgressListener } from '../progress.ts';
import { checkBottomReuse, giveBottomLayerAHeadStart, headStartBytes, type Counted } from './head-start.ts';

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

/** Stores each layer as it streams out of the archive, compressing plain tars. */
export function layerSink(writer: BundleWriter, compression: Compression, codec: ZstdCodec, signal: AbortSignal | undefined): LayerSink {
  return async (body, kind, knownDigest) => {
    if (kind !== 'tar' || compression === 'none') {
      const source = Readable.from(ownedChunks(body), { objectMode: false });
      const stored = await writer.writeBlob(source, signal === undefined ? {} : { signal });
      if (knownDigest !== undefined && stored.digest !== knownDigest) {
        throw new MalformedArchiveError(`Archive blob ${knownDigest} does not match its digest (its content hashes to ${stored.digest}).`, {
          hint: 'The archive is corrupt; write it again.',
        });
      }
      const mediaType = kind === 'tar' ? layerMediaType('none') : layerMediaType(kind);
      return { ...stored, mediaType, uncompressedSize: kind === 'tar' ? stored.size : undefined };
    }
    let uncompressedSize = 0;
    let consumed = (): void => undefined;
    const bodyDone = new Promise<void>((resolve) => (consumed = resolve));
    const stored = writer.writeBlobWith(async (path) => {
      uncompressedSize = await compressToFile(body, path, compression, { codec, signal });
      consumed();
    });
    // The store hashes the file it wrote while the next layer streams.
    await Promise.race([bodyDone, stored]);
    const pending = stored.then((blob): LayerBlob => ({ ...blob, mediaType: layerMediaType(compression), uncompressedSize }));
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
  options: ReadImagesOptions & { headStartBytes: number | 'off' },
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
