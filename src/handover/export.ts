import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { copyChunks } from '../archive/copy-chunks.ts';
import { readImageArchive, type ArchiveImage, type LayerBlob, type LayerSink } from '../archive/image-archive.ts';
import { buildIndex, buildManifest, type IndexEntry } from '../bundle/build.ts';
import { layerMediaType, type Compression } from '../bundle/media-types.ts';
import type { Platform } from '../bundle/model.ts';
import { compressToFile } from '../compression/compress-to-file.ts';
import type { Digest } from '../digest/digest.ts';
import type { Engine, ImageInfo } from '../engine/engine.ts';
import { FileNotFoundError, ImageNotFoundError, MalformedArchiveError, UsageError, describeCause } from '../errors.ts';
import { familiarTag, isImageId, parseReference, parseTagReference, qualifiedTag } from '../ref/reference.ts';
import { parseBundleName } from '../store/bundle-name.ts';
import type { BundleWriter, Store } from '../store/store.ts';
import { countBytes } from './byte-counter.ts';
import { spentBufferCollector } from '../io/spent-buffers.ts';
import { DEFAULT_HEAD_START_BYTES, checkBottomReuse, giveBottomLayerAHeadStart, headStartBytes } from './head-start.ts';
import { PhaseClock, type PhaseTimings, type ProgressListener } from './progress.ts';

export interface ExportOptions {
  store: Store;
  name: string;
  /** Images on the engine (references or ids). Exclusive with `archive`. */
  sources: readonly string[];
  /** An archive file written by docker save or buildx (type=docker|oci). */
  archive?: string | undefined;
  engine?: Engine | undefined;
  /** The tag consumers get (one source only); otherwise images keep their tags. */
  tag?: string | undefined;
  compression?: Compression | undefined;
  /** Producer facts to record (see producerAnnotations). */
  producer?: Record<string, string> | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ProgressListener | undefined;
  now?: Date | undefined;
  /**
   * The bottom layer's size from which it gets a head start (see
   * head-start.ts): DEFAULT_HEAD_START_BYTES when not given, 'off' for never.
   */
  headStartBytes?: number | 'off' | undefined;
}

export interface ExportedImage {
  tags: string[];
  imageId: Digest;
  sourceId: string | undefined;
  sourceRef: string | undefined;
  manifestDigest: Digest;
  layers: number;
  /** Bytes of its layers before and after compression. */
  uncompressedBytes: number;
  storedBytes: number;
}

export interface ExportResult {
  name: string;
  bundleDigest: Digest;
  location: string;
  store: { kind: string; location: string };
  details: Record<string, unknown>;
  images: ExportedImage[];
  compression: Compression;
  bytes: {
    /** Bytes read from the engine or the archive. */
    read: number;
    /** Size of the bundle's blobs in the store. */
    stored: number;
    /** Bytes newly written to the store (blobs it lacked). */
    written: number;
  };
  timings: { phases: PhaseTimings; totalMs: number };
}

interface ValidatedSources {
  references: string[];
  tag: ReturnType<typeof parseTagReference> | undefined;
}

/** Checks every input before any work, so a bad reference costs nothing. */
function validate(options: ExportOptions): ValidatedSources {
  parseBundleName(options.name);
  const hasArchive = options.archive !== undefined && options.archive !== '';
  if (hasArchive && options.sources.length > 0) {
    throw new UsageError('Expected images from the engine or --archive, found both.', { hint: 'Export either images from the engine or one archive file.' });
  }
  if (!hasArchive && options.sources.length === 0) {
    throw new UsageError('Expected at least one image to export, found none.', {
      hint: 'Name the image as built, e.g. handover export charon-build:123 --tag charon:local, or pass --archive FILE.',
    });
  }
  const references = options.sources.map((source, i) => {
    if (isImageId(source)) return source.trim();
    parseReference(source, `source image ${i + 1}`);
    return source.trim();
  });
  const tag = options.tag === undefined ? undefined : parseTagReference(options.tag, '--tag');
  if (tag !== undefined && references.length > 1) {
    throw new UsageError(`--tag names one image, but ${references.length} sources were given.`, {
      hint: 'Tag each image before exporting, or export them without --tag to keep their own tags.',
    });
  }
  return { references, tag };
}

async function inspectSources(engine: Engine, references: string[]): Promise<ImageInfo[]> {
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

async function openArchive(path: string): Promise<{ stream: Readable; size: number }> {
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
function layerSink(writer: BundleWriter, compression: Compression, signal: AbortSignal | undefined): LayerSink {
  return async (body, kind, knownDigest) => {
    if (kind !== 'tar' || compression === 'none') {
      const source = Readable.from(copyChunks(body), { objectMode: false });
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
      uncompressedSize = await compressToFile(body, path, compression, signal);
      consumed();
    });
    // The store hashes the file it wrote while the next layer streams.
    await Promise.race([bodyDone, stored]);
    const pending = stored.then((blob): LayerBlob => ({ ...blob, mediaType: layerMediaType(compression), uncompressedSize }));
    return { pending };
  };
}

function platformOf(config: Buffer): Platform | undefined {
  try {
    const parsed = JSON.parse(config.toString('utf8')) as { architecture?: unknown; os?: unknown; variant?: unknown };
    if (typeof parsed.architecture !== 'string' || typeof parsed.os !== 'string') return undefined;
    return { architecture: parsed.architecture, os: parsed.os, ...(typeof parsed.variant === 'string' ? { variant: parsed.variant } : {}) };
  } catch {
    return undefined;
  }
}

function tagsFor(image: ArchiveImage, tag: ValidatedSources['tag']): { tags: string[]; qualified: string[] } {
  const refs = tag !== undefined ? [tag] : image.tags.map((t) => parseTagReference(t, 'a tag in the archive'));
  const unique = new Map(refs.map((r) => [familiarTag(r), qualifiedTag(r)]));
  return { tags: [...unique.keys()], qualified: [...unique.values()] };
}

/**
 * Export: engine (or archive) -> layers compressed and hashed as they stream
 * -> blobs in the store -> manifests and index -> published under a name.
 */
export async function exportImages(options: ExportOptions): Promise<ExportResult> {
  const { references, tag } = validate(options);
  const compression = options.compression ?? 'zstd';
  const clock = new PhaseClock();
  const signal = options.signal;
  let infos: ImageInfo[] = [];
  let archive: { stream: AsyncIterable<Uint8Array>; size: number } | undefined;
  let bottomBytes: number | undefined;
  if (options.archive !== undefined && options.archive !== '') {
    clock.start('open archive');
    archive = await openArchive(options.archive);
  } else {
    if (options.engine === undefined) throw new UsageError('Exporting from the engine needs an engine.');
    clock.start('inspect');
    infos = await inspectSources(options.engine, references);
    const minBytes = options.headStartBytes === 'off' ? undefined : (options.headStartBytes ?? DEFAULT_HEAD_START_BYTES);
    bottomBytes = await headStartBytes(options.engine, references, infos, minBytes);
  }
  const writer = await options.store.createBundle(options.name, signal === undefined ? {} : { signal });
  try {
    const spent = spentBufferCollector();
    const sink = layerSink(writer, compression, signal);
    const total = archive?.size ?? infos.reduce((sum, info) => sum + info.size, 0) + (bottomBytes ?? 0);
    let read = 0;
    const counted = (stream: AsyncIterable<Uint8Array>) => {
      const before = read;
      const counter = countBytes(stream, (bytes) => options.onProgress?.({ phase: 'export', bytes: before + bytes, total }), spent);
      return { stream: counter.stream, done: () => (read = before + counter.bytes()) };
    };
    let images: ArchiveImage[];
    if (archive !== undefined) {
      clock.start('stream');
      const input = counted(archive.stream);
      images = await readImageArchive(input.stream, sink);
      input.done();
    } else {
      const engine = options.engine!;
      const head = bottomBytes === undefined ? undefined : await giveBottomLayerAHeadStart(engine, references, infos[0]!, sink, counted, clock, signal);
      clock.start('engine read');
      const stream = await (head?.fullSave ?? engine.saveImages(references, signal));
      clock.start('stream');
      const input = counted(stream);
      images = await readImageArchive(input.stream, sink, { reuse: head?.bottom?.reuse });
      input.done();
      if (head?.bottom !== undefined) checkBottomReuse(images, head.bottom.blob, head.bottom.reused);
    }
    options.onProgress?.({ phase: 'export', bytes: read, total: read });

    clock.start('publish');
    const entries: IndexEntry[] = [];
    const exported: ExportedImage[] = [];
    const seenBlobs = new Map<Digest, number>();
    let written = 0;
    const writtenLayers = new Set<Digest>();
    for (const layer of images.flatMap((image) => image.layers)) {
      if (layer.written && !writtenLayers.has(layer.digest)) written += layer.size;
      writtenLayers.add(layer.digest);
    }
    for (const [i, image] of images.entries()) {
      const info = infos.find((candidate) => candidate.id === image.configDigest) ?? (images.length === infos.length ? infos[i] : undefined);
      const config = await writer.putBlob(image.config);
      const manifestBytes = buildManifest({ config, layers: image.layers });
      const manifest = await writer.putBlob(manifestBytes);
      for (const blob of [config, manifest, ...image.layers]) seenBlobs.set(blob.digest, blob.size);
      written += (config.written ? config.size : 0) + (manifest.written ? manifest.size : 0);
      const { tags, qualified } = tagsFor(image, tag);
      const sourceRef = references.length === images.length ? references[i] : undefined;
      entries.push({
        manifest,
        tags,
        qualifiedNames: qualified,
        imageId: image.configDigest,
        sourceId: info?.id,
        sourceRef,
        platform: platformOf(image.config),
      });
      exported.push({
        tags,
        imageId: image.configDigest,
        sourceId: info?.id,
        sourceRef,
        manifestDigest: manifest.digest,
        layers: image.layers.length,
        uncompressedBytes: image.layers.reduce((sum, l) => sum + (l.uncompressedSize ?? l.size), 0),
        storedBytes: image.layers.reduce((sum, l) => sum + l.size, 0) + config.size + manifest.size,
      });
    }
    const index = buildIndex(entries, { created: options.now ?? new Date(), producer: options.producer ?? {} });
    const published = await writer.publish(index);
    clock.stop();
    return {
      name: published.name,
      bundleDigest: published.digest,
      location: published.location,
      store: { kind: options.store.kind, location: options.store.location },
      details: published.details,
      images: exported,
      compression,
      bytes: {
        read,
        stored: [...seenBlobs.values()].reduce((a, b) => a + b, 0) + index.length,
        written: written + index.length,
      },
      timings: clock.result(),
    };
  } finally {
    await writer.discard();
  }
}
