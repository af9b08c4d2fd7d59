import { PassThrough, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { layerCompression } from '../bundle/media-types.ts';
import type { Descriptor } from '../bundle/model.ts';
import { decompressor } from '../compression/codecs.ts';
import { digestHex, type Digest } from '../digest/digest.ts';
import { HashingStream } from '../digest/hashing-stream.ts';
import { MalformedBundleError, describeCause, isHandoverError } from '../errors.ts';
import type { TarFile } from '../archive/tar/tar-writer.ts';
import type { BundleSource } from '../store/store.ts';
import { recordedUncompressedSize, type ResolvedImage } from './bundle-reader.ts';
import { chainIds } from './engine-layers.ts';

/**
 * Streams a layer out of the store verified twice over: the stored bytes
 * against the layer digest, and the decompressed tar against the diff id the
 * image config records, so the engine is only ever fed what was exported.
 * Without a diff id the stored bytes go to the engine as they are.
 */
async function* verifiedLayer(source: BundleSource, layer: Descriptor, diffId: Digest | undefined, size: number, label: string, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  const compression = layerCompression(layer.mediaType) ?? 'none';
  const stages: Transform[] = [new HashingStream({ digest: layer.digest, size: layer.size, label })];
  if (compression !== 'none' && diffId !== undefined) {
    stages.push(decompressor(compression), new HashingStream({ digest: diffId, size, label: `${label} (uncompressed)` }));
  }
  const blob = await source.openBlob(layer.digest);
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
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
 * Hashes the stored layer whole to say why it could not be decompressed:
 * almost always because it is not what the producer wrote.
 */
async function explainUnreadableLayer(source: BundleSource, layer: Descriptor, label: string, cause: unknown): Promise<Error> {
  try {
    await pipeline(await source.openBlob(layer.digest), new HashingStream({ digest: layer.digest, size: layer.size, label }), new Writable({ write: (_c, _e, cb) => cb() }));
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  return new MalformedBundleError(`${label} matches its digest but cannot be decompressed: ${describeCause(cause)}.`, {
    hint: 'The producer wrote a damaged layer. Export the image again.',
    cause,
  });
}

export interface LoadArchivePlan {
  files: TarFile[];
  /** Bytes the engine receives. */
  totalBytes: number;
  /** Layers the engine already held, and their stored size: not read, not sent. */
  skippedLayers: number;
  skippedBytes: number;
}

/**
 * The archive handed to the engine: docker save's layout, configs and plain
 * layer tars, with manifest.json last. The engine reads manifest.json only
 * after the whole archive, so a blob that fails verification stops the
 * stream before the engine can register anything. Images are listed without
 * tags: handover tags them only once the engine holds the verified ids.
 */
export function planLoadArchive(source: BundleSource, images: ResolvedImage[], presentChains: ReadonlySet<string>, onBytes: (n: number) => void): LoadArchivePlan {
  const files: TarFile[] = [];
  const layerPaths = new Map<string, string>();
  let skippedLayers = 0;
  let skippedBytes = 0;
  const manifest = images.map((image) => {
    const chains = chainIds(image.parsedConfig.diffIds);
    const label = image.entry.tags[0] ?? image.configDigest;
    const configPath = `config/${digestHex(image.configDigest)}.json`;
    if (!files.some((f) => f.name === configPath)) {
      files.push({ name: configPath, size: image.config.length, content: function* () { yield image.config; } });
    }
    const layers = image.manifest.layers.map((layer, i) => {
      const diffId = image.parsedConfig.diffIds[i]!;
      const chain = chains[i]!;
      const known = layerPaths.get(chain);
      if (known !== undefined) return known;
      const path = `layers/${chain.slice('sha256:'.length)}.tar`;
      layerPaths.set(chain, path);
      if (presentChains.has(chain)) {
        // The engine holds this layer (with all below it) and will not open
        // the file: an empty one stands in, and nothing is read or moved.
        skippedLayers++;
        skippedBytes += layer.size;
        files.push({ name: path, size: 0, content: () => [] });
        return path;
      }
      const compression = layerCompression(layer.mediaType) ?? 'none';
      const layerLabel = `layer ${i + 1} of ${label}`;
      const uncompressedSize = compression === 'none' ? layer.size : recordedUncompressedSize(layer);
      if (uncompressedSize === undefined) {
        // A layer kept as the source engine compressed it, with no recorded
        // size: hand it over compressed (engines decompress what they store)
        // and let the engine check it against the config's diff id.
        files.push({ name: path, size: layer.size, content: () => verifiedLayer(source, layer, undefined, layer.size, layerLabel, onBytes) });
      } else {
        files.push({ name: path, size: uncompressedSize, content: () => verifiedLayer(source, layer, diffId, uncompressedSize, layerLabel, onBytes) });
      }
      return path;
    });
    return { Config: configPath, RepoTags: null, Layers: layers };
  });
  const manifestJson = Buffer.from(JSON.stringify(manifest));
  files.push({ name: 'manifest.json', size: manifestJson.length, content: function* () { yield manifestJson; } });
  return { files, totalBytes: files.reduce((sum, f) => sum + f.size, 0), skippedLayers, skippedBytes };
}
