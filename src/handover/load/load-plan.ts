import { digestHex, type Digest } from '../../digest/digest.ts';
import { layerCompression } from '../../bundle/media-types.ts';
import type { Descriptor } from '../../bundle/model.ts';
import type { TarFile } from '../../archive/tar/tar-writer.ts';
import type { BundleSource } from '../../store/store.ts';
import { recordedUncompressedSize, type ResolvedImage } from '../bundle-reader.ts';
import { chainIds } from '../../bundle/chain-ids.ts';
import { partialConfig } from './partial-image.ts';
import { verifiedLayer, type LayerReading } from './verified-layer.ts';
import { UnsupportedMediaTypeError } from '../../errors.ts';

/**
 * One docker load: the files of docker save's layout (configs, plain layer
 * tars) and manifest.json, which goes last. The engine reads manifest.json
 * only after the whole archive, so a blob that fails verification stops the
 * stream before the engine can register anything. Images are listed without
 * tags: handover tags them only once the engine holds the verified ids.
 */
export interface LoadStep {
  files: TarFile[];
  /** The files that make the engine register the load (manifest.json): sent last, once the files are verified and the load before has finished. */
  closing: TarFile[];
  /** The id of the labelled partial image this step leaves behind, if it is one. */
  partialImageId: Digest | undefined;
}

export interface LoadPlan {
  steps: LoadStep[];
  /** Bytes the engine receives. */
  totalBytes: number;
  /** Layers the engine already held, and their stored size: not read, not sent. */
  skippedLayers: number;
  skippedBytes: number;
}

/** A layer's file in the load archive. */
function layerFile(source: BundleSource, layer: Descriptor, path: string, label: string, read: LayerReading): TarFile {
  const compression = layerCompression(layer.mediaType) ?? 'none';
  const uncompressedSize = compression === 'none' ? layer.size : recordedUncompressedSize(layer);
  // A layer kept as the source engine compressed it, with no recorded size,
  // goes over compressed (engines decompress what they store) — but an
  // engine that cannot read zstd needs its size before a byte is sent.
  if (compression === 'zstd' && uncompressedSize === undefined && !read.engineReadsZstd) {
    throw new UnsupportedMediaTypeError(`${label} is stored as zstd (${layer.mediaType}) as the producer built it, and this engine does not read zstd layers.`, {
      hint: 'Export it again with --compression gzip (the compression input of the export action), or load it on Docker 25 or later, or Podman.',
      details: { mediaType: layer.mediaType },
    });
  }
  return { name: path, size: uncompressedSize ?? layer.size, content: () => verifiedLayer(source, layer, uncompressedSize, label, read) };
}

function manifestOf(entries: Array<{ Config: string; Layers: string[] }>): TarFile[] {
  const bytes = Buffer.from(JSON.stringify(entries.map((entry) => ({ ...entry, RepoTags: null }))));
  return [{ name: 'manifest.json', size: bytes.length, content: () => [bytes] }];
}

/**
 * Plans the loads that bring the bundle's images into the engine. Layers
 * the engine holds are not sent. With `stepBytes`, layers come in several
 * loads, bottom up, so the engine applies one while the next streams in:
 * a load ends after the layer that brings its data to `stepBytes` (small
 * layers ride together, as each load has a fixed cost), as a labelled
 * partial image; an image's last layers come with the image itself.
 * Without it one load carries everything.
 */
export function planLoad(
  source: BundleSource,
  images: ResolvedImage[],
  presentChains: ReadonlySet<string>,
  stepBytes: number | undefined,
  read: LayerReading,
): LoadPlan {
  const steps: LoadStep[] = [];
  const single: TarFile[] = [];
  const singleEntries: Array<{ Config: string; Layers: string[] }> = [];
  /** Chains the engine will hold by the time a later load needs them. */
  const held = new Set(presentChains);
  const skipped = new Set<string>();
  let skippedBytes = 0;
  let totalBytes = 0;
  // A layer the engine holds by the time it reads this load: it will not open the file.
  const standIn = (name: string): TarFile => ({ name, size: 0, content: () => [] });
  const withStandIns = (files: TarFile[], paths: readonly string[]): TarFile[] => {
    for (const name of paths) if (!files.some((f) => f.name === name)) files.push(standIn(name));
    return files;
  };
  for (const image of images) {
    const chains = chainIds(image.parsedConfig.diffIds);
    const paths = chains.map((chain) => `layers/${chain.slice('sha256:'.length)}.tar`);
    const label = image.entry.tags[0] ?? image.configDigest;
    const last = image.manifest.layers.length - 1;
    let pending: TarFile[] = [];
    let pendingBytes = 0;
    for (const [i, layer] of image.manifest.layers.entries()) {
      const chain = chains[i]!;
      if (presentChains.has(chain) && !skipped.has(chain)) {
        skipped.add(chain);
        skippedBytes += layer.size;
      }
      if (held.has(chain)) continue;
      held.add(chain);
      const file = layerFile(source, layer, paths[i]!, `layer ${i + 1} of ${label}`, read);
      totalBytes += file.size;
      pending.push(file);
      pendingBytes += file.size;
      if (stepBytes === undefined || i === last || pendingBytes < stepBytes) continue;
      const partial = partialConfig(image.config, i + 1, image.configDigest);
      const configPath = `config/${digestHex(partial.digest)}.json`;
      steps.push({
        files: withStandIns([{ name: configPath, size: partial.bytes.length, content: () => [partial.bytes] }, ...pending], paths.slice(0, i + 1)),
        closing: manifestOf([{ Config: configPath, Layers: paths.slice(0, i + 1) }]),
        partialImageId: partial.digest,
      });
      pending = [];
      pendingBytes = 0;
    }
    const configPath = `config/${digestHex(image.configDigest)}.json`;
    const config: TarFile = { name: configPath, size: image.config.length, content: () => [image.config] };
    if (stepBytes !== undefined) {
      steps.push({ files: withStandIns([config, ...pending], paths), closing: manifestOf([{ Config: configPath, Layers: paths }]), partialImageId: undefined });
      continue;
    }
    if (!single.some((f) => f.name === configPath)) single.push(config);
    single.push(...pending);
    withStandIns(single, paths);
    singleEntries.push({ Config: configPath, Layers: paths });
  }
  if (stepBytes === undefined) steps.push({ files: single, closing: manifestOf(singleEntries), partialImageId: undefined });
  return { steps, totalBytes, skippedLayers: skipped.size, skippedBytes };
}
