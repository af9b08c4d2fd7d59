import type { ArchiveImage } from '../../archive/image-archive.ts';
import type { Compression } from '../../bundle/media-types.ts';
import type { ZstdCodec } from '../../compression/codecs.ts';
import { Defaults } from '../../defaults.ts';
import { requireApi } from '../../engine/api-version.ts';
import type { Digest } from '../../digest/digest.ts';
import type { Engine, ImageInfo } from '../../engine/engine.ts';
import { UsageError } from '../../errors.ts';
import { isImageId, parseReference, parseTagReference } from '../../ref/reference.ts';
import { parseBundleName } from '../../store/bundle-name.ts';
import type { BundleWriter, Store } from '../../store/store.ts';
import { PhaseClock, type PhaseTimings, type ProgressListener } from '../progress.ts';
import { assembleBundle, type ExportedImage } from './assemble.ts';
import { inspectSources, layerSink, readArchiveImages, readEngineImages, type ImagesRead } from './read-images.ts';

export type { ExportedImage } from './assemble.ts';

/** Where the images come from: the engine, by reference or id, or an archive file. */
export type ExportSource =
  | { engine: Engine; references: readonly string[] }
  /** What docker save -o, or buildx with type=docker|oci,dest=, wrote. */
  | { archive: string };

export interface ExportOptions {
  store: Store;
  source: ExportSource;
  /** The bundle's name in the store (default docker-image). */
  name?: string | undefined;
  /** The tag consumers get (one image only); otherwise images keep their tags. */
  tag?: string | undefined;
  /**
   * Layer compression. Unset: plain layers are compressed with zstd and
   * compressed ones kept as they came, so the producer's manifest (and its
   * image id on containerd's store) survives. Set: every layer is re-encoded
   * to it, which changes the manifest digest.
   */
  compression?: Compression | undefined;
  /** Producer facts to record (see producerAnnotations). */
  producer?: Record<string, string> | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ProgressListener | undefined;
  now?: Date | undefined;
  /** The bottom layer's size from which it gets a head start (see head-start.ts), or 'off'. */
  headStartBytes?: number | 'off' | undefined;
  zstd?: ZstdCodec | undefined;
}

export interface ExportResult {
  name: string;
  bundleDigest: Digest;
  location: string;
  store: { kind: string; location: string };
  details: Record<string, unknown>;
  images: ExportedImage[];
  /** What plain layers were compressed with. */
  compression: Compression;
  /** True when every layer was re-encoded to `compression` (asked for): manifest digests are handover's, not the producer's. */
  transcoded: boolean;
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

interface Validated {
  name: string;
  references: string[];
  tag: ReturnType<typeof parseTagReference> | undefined;
}

/** Checks every input before any work, so a bad reference costs nothing. */
function validate(options: ExportOptions): Validated {
  const name = parseBundleName(options.name ?? Defaults.bundleName);
  const sources = 'archive' in options.source ? [] : options.source.references;
  if ('archive' in options.source && options.source.archive.trim() === '') {
    throw new UsageError('Expected an archive file to export, found an empty path.', { hint: 'Pass the file docker save -o or buildx wrote.' });
  }
  if (!('archive' in options.source) && sources.length === 0) {
    throw new UsageError('Expected at least one image to export, found none.', {
      hint: 'Name the image as built, e.g. handover export charon-build:123 --tag charon:local, or pass --archive FILE.',
    });
  }
  const references = sources.map((source, i) => {
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
  return { name, references, tag };
}

/** Bytes of layers the store lacked and was written, each distinct layer once. */
function writtenLayerBytes(images: readonly ArchiveImage[]): number {
  const seen = new Set<Digest>();
  let written = 0;
  for (const layer of images.flatMap((image) => image.layers)) {
    if (layer.written && !seen.has(layer.digest)) written += layer.size;
    seen.add(layer.digest);
  }
  return written;
}

/**
 * Export: images from the engine (or an archive), each layer compressed and
 * hashed as it streams into the store; then the bundle's manifests and
 * index are assembled and published under its name, atomically.
 */
export async function exportImages(options: ExportOptions): Promise<ExportResult> {
  const { name, references, tag } = validate(options);
  const compression = options.compression ?? Defaults.compression;
  const policy = { compression, transcode: options.compression !== undefined };
  const { signal, onProgress } = options;
  const clock = new PhaseClock();
  let infos: ImageInfo[] = [];
  if ('engine' in options.source) {
    clock.start('inspect');
    const { engine } = options.source;
    requireApi(await engine.version(), engine.endpoint);
    infos = await inspectSources(engine, references);
  }
  const writer = await options.store.createBundle(name);
  try {
    const sink = layerSink(writer, policy, options.zstd ?? 'command', signal);
    const read: ImagesRead =
      'engine' in options.source
        ? await readEngineImages(options.source.engine, references, infos, { sink, clock, signal, onProgress, headStartBytes: options.headStartBytes ?? Defaults.headStartBytes })
        : await readArchiveImages(options.source.archive, { sink, clock, signal, onProgress });
    onProgress?.({ phase: 'export', bytes: read.bytesRead, total: read.bytesRead });

    clock.start('publish');
    const bundle = assembleBundle({ archive: read.archive, infos, references, tag, created: options.now ?? new Date(), producer: options.producer ?? {} });
    const written = writtenLayerBytes(read.archive.images) + (await putMetadata(writer, bundle.blobs)) + bundle.index.length;
    const published = await writer.publish(bundle.index);
    clock.stop();
    return {
      name: published.name,
      bundleDigest: published.digest,
      location: published.location,
      store: { kind: options.store.kind, location: options.store.location },
      details: published.details,
      images: bundle.images,
      compression,
      transcoded: policy.transcode,
      bytes: { read: read.bytesRead, stored: bundle.storedBytes, written },
      timings: clock.result(),
    };
  } finally {
    await writer.discard();
  }
}

/** Stores the configs and manifests; returns the bytes the store lacked. */
async function putMetadata(writer: BundleWriter, blobs: readonly Buffer[]): Promise<number> {
  let written = 0;
  const seen = new Set<Digest>();
  for (const bytes of blobs) {
    const stored = await writer.putBlob(bytes);
    if (stored.written && !seen.has(stored.digest)) written += stored.size;
    seen.add(stored.digest);
  }
  return written;
}
