import type { Digest } from '../digest/digest.ts';
import { BlobMissingError } from '../errors.ts';
import { INDEX_MEDIA_TYPES } from './media-types.ts';
import { parseDescriptor, parseImagePlatforms, parseIndex, parseManifest } from './parse.ts';

/** A manifest's config and layers, read loosely: an attestation's layers are not image layers. */
function partsOf(bytes: Uint8Array, what: string): Digest[] {
  const json = JSON.parse(Buffer.from(bytes).toString('utf8')) as { config?: unknown; layers?: unknown };
  const layers: unknown[] = Array.isArray(json.layers) ? (json.layers as unknown[]) : [];
  return [json.config, ...layers].map((raw, i) => parseDescriptor(raw, `part ${i + 1} of ${what}`).digest);
}

/**
 * Every blob a bundle references: its manifests, their configs and layers;
 * for an image index, the index and each manifest it lists that the bundle
 * holds (a platform or an attestation may have been left out: `readBlob`
 * answers undefined for a blob the bundle lacks).
 */
export async function referencedBlobs(index: Uint8Array, readBlob: (digest: Digest) => Promise<Uint8Array | undefined>): Promise<Digest[]> {
  const blobs = new Set<Digest>();
  const required = async (digest: Digest): Promise<Uint8Array> => {
    const bytes = await readBlob(digest);
    if (bytes === undefined) {
      throw new BlobMissingError(`The bundle's index references blob ${digest}, which was never written to it.`, {
        hint: 'This is a bug in the export flow: the index was published before its blobs. Please report it.',
        details: { digest },
      });
    }
    return bytes;
  };
  for (const image of parseIndex(index).images) {
    blobs.add(image.manifest.digest);
    const bytes = await required(image.manifest.digest);
    if (!INDEX_MEDIA_TYPES.has(image.manifest.mediaType)) {
      const manifest = parseManifest(bytes);
      for (const digest of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) blobs.add(digest);
      continue;
    }
    const { platforms, attachments } = parseImagePlatforms(bytes);
    for (const child of [...platforms, ...attachments]) {
      const childBytes = await readBlob(child.digest);
      if (childBytes === undefined) continue;
      blobs.add(child.digest);
      for (const digest of partsOf(childBytes, `manifest ${child.digest}`)) blobs.add(digest);
    }
  }
  return [...blobs];
}
