import { digestHex, type Digest } from '../../digest/digest.ts';

/** One image as Docker's manifest.json lists it. */
export interface DockerManifestImage {
  config: Digest;
  layers: readonly Digest[];
  /** Familiar tags, e.g. charon:local; none loads the image untagged. */
  tags: readonly string[];
}

export const DOCKER_MANIFEST_FILE = 'manifest.json';

/** The path of a blob in an OCI layout. */
export function blobEntryName(digest: Digest): string {
  return `blobs/sha256/${digestHex(digest)}`;
}

/**
 * Docker's manifest.json for an OCI layout, as `docker save` (Docker 25+)
 * writes it beside index.json: the paths of each image's config and layers,
 * and its tags. With it, `docker load` reads the archive on engines that do
 * not read index.json themselves (the classic image store, Docker 20.10).
 */
export function dockerManifest(images: readonly DockerManifestImage[]): Buffer {
  return Buffer.from(
    JSON.stringify(
      images.map((image) => ({
        Config: blobEntryName(image.config),
        RepoTags: image.tags.length === 0 ? null : [...image.tags],
        Layers: image.layers.map(blobEntryName),
      })),
    ),
  );
}
