import type { Digest } from '../digest/digest.ts';
import { parseIndex, parseManifest } from './parse.ts';

/** Every blob a bundle references: its manifests, their configs and layers. */
export async function referencedBlobs(index: Uint8Array, readBlob: (digest: Digest) => Promise<Uint8Array>): Promise<Digest[]> {
  const blobs = new Set<Digest>();
  for (const image of parseIndex(index).images) {
    blobs.add(image.manifest.digest);
    const manifest = parseManifest(await readBlob(image.manifest.digest));
    blobs.add(manifest.config.digest);
    for (const layer of manifest.layers) blobs.add(layer.digest);
  }
  return [...blobs];
}
