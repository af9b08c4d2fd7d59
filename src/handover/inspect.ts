import { Annotation } from '../bundle/annotations.ts';
import { platformName } from '../bundle/platform.ts';
import { Defaults } from '../defaults.ts';
import { parseDigest, type Digest } from '../digest/digest.ts';
import { verifiedChunks } from '../digest/verified-chunks.ts';
import { parseBundleName } from '../store/bundle-name.ts';
import type { Store } from '../store/store.ts';
import { recordedUncompressedSize, resolveBundle } from './bundle-reader.ts';

export interface InspectedLayer {
  digest: Digest;
  mediaType: string;
  size: number;
  uncompressedSize: number | undefined;
}

export interface InspectResult {
  name: string;
  bundleDigest: Digest;
  location: string;
  formatVersion: number | undefined;
  created: string | undefined;
  producer: Record<string, string>;
  images: Array<{
    tags: string[];
    imageId: Digest;
    sourceId: string | undefined;
    /** The platform's manifest. */
    manifestDigest: Digest;
    /** The image index the image is a platform of (its id on containerd's store), if it is one. */
    indexDigest: Digest | undefined;
    platform: string;
    layers: InspectedLayer[];
    storedBytes: number;
    uncompressedBytes: number | undefined;
  }>;
  /** True when every layer was read and hashed (--verify). */
  blobsVerified: boolean;
}

/** Describes a bundle; with `verifyBlobs`, also reads and hashes every layer. */
export async function inspectBundle(options: { store: Store; name?: string | undefined; expect?: string | undefined; verifyBlobs?: boolean }): Promise<InspectResult> {
  const name = parseBundleName(options.name ?? Defaults.bundleName);
  const expect = options.expect === undefined || options.expect === '' ? undefined : parseDigest(options.expect, '--expect digest');
  const source = await options.store.openBundle(name);
  try {
    const bundle = await resolveBundle(source, expect);
    if (options.verifyBlobs === true) {
      const seen = new Set<Digest>();
      for (const image of bundle.images) {
        for (const [i, layer] of image.manifest.layers.entries()) {
          if (seen.has(layer.digest)) continue;
          seen.add(layer.digest);
          const expected = { digest: layer.digest, size: layer.size, label: `layer ${i + 1} of ${image.entry.tags[0] ?? image.configDigest}` };
          for await (const _ of verifiedChunks(await source.openBlob(layer.digest), expected));
        }
      }
    }
    const annotations = bundle.index.annotations;
    return {
      name,
      bundleDigest: bundle.index.digest,
      location: source.location,
      formatVersion: bundle.index.formatVersion,
      created: annotations[Annotation.created],
      producer: Object.fromEntries(Object.entries(annotations).filter(([k]) => k !== Annotation.created && k !== Annotation.formatVersion)),
      images: bundle.images.map((image) => {
        const layers = image.manifest.layers.map((l) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size, uncompressedSize: recordedUncompressedSize(l) }));
        const sizes = layers.map((l) => l.uncompressedSize);
        return {
          tags: image.entry.tags,
          imageId: image.configDigest,
          sourceId: image.entry.sourceId,
          manifestDigest: image.manifestDescriptor.digest,
          indexDigest: image.index?.descriptor.digest,
          platform: platformName(image.platform),
          layers,
          storedBytes: layers.reduce((sum, l) => sum + l.size, 0) + image.config.length + image.manifestDescriptor.size,
          uncompressedBytes: sizes.every((s) => s !== undefined) ? sizes.reduce((a, b) => a + b, 0) : undefined,
        };
      }),
      blobsVerified: options.verifyBlobs === true,
    };
  } finally {
    await source.close();
  }
}
