import type { ArchiveImage } from '../../archive/image-archive.ts';
import { buildIndex, buildManifest, type IndexEntry } from '../../bundle/build.ts';
import { configPlatform } from '../../bundle/config.ts';
import { sha256Digest, type Digest } from '../../digest/digest.ts';
import type { ImageInfo } from '../../engine/engine.ts';
import { familiarTag, parseTagReference, qualifiedTag, type ImageReference } from '../../ref/reference.ts';

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

export interface AssembleInput {
  /** The images as read, their layers already in the store. */
  images: readonly ArchiveImage[];
  /** What the engine said of each source, in source order (none for an archive). */
  infos: readonly ImageInfo[];
  /** The sources as the user named them (none for an archive). */
  references: readonly string[];
  /** The tag consumers get, when one was given. */
  tag: (ImageReference & { tag: string }) | undefined;
  created: Date;
  producer: Record<string, string>;
}

/** The bundle's metadata, ready to store: each image's config and manifest, then the index. */
export interface AssembledBundle {
  /** Configs and manifests, to store before the index. */
  blobs: Buffer[];
  index: Uint8Array;
  images: ExportedImage[];
  /** Bytes of every distinct blob the bundle references, and its index. */
  storedBytes: number;
}

function tagsFor(image: ArchiveImage, tag: AssembleInput['tag']): { tags: string[]; qualified: string[] } {
  const refs = tag !== undefined ? [tag] : image.tags.map((t) => parseTagReference(t, 'a tag in the archive'));
  const unique = new Map(refs.map((r) => [familiarTag(r), qualifiedTag(r)]));
  return { tags: [...unique.keys()], qualified: [...unique.values()] };
}

/**
 * Builds the bundle's manifests and index from the images read: pure, so
 * the same images always make the same bundle digest (given the same
 * creation time and producer facts).
 */
export function assembleBundle(input: AssembleInput): AssembledBundle {
  const { images, infos, references } = input;
  const entries: IndexEntry[] = [];
  const exported: ExportedImage[] = [];
  const blobs: Buffer[] = [];
  const sizes = new Map<Digest, number>();
  for (const [i, image] of images.entries()) {
    const info = infos.find((candidate) => candidate.id === image.configDigest) ?? (images.length === infos.length ? infos[i] : undefined);
    const config = { digest: sha256Digest(image.config), size: image.config.length };
    const manifestBytes = Buffer.from(buildManifest({ config, layers: image.layers }));
    const manifest = { digest: sha256Digest(manifestBytes), size: manifestBytes.length };
    blobs.push(image.config, manifestBytes);
    for (const blob of [config, manifest, ...image.layers]) sizes.set(blob.digest, blob.size);
    const { tags, qualified } = tagsFor(image, input.tag);
    const sourceRef = references.length === images.length ? references[i] : undefined;
    entries.push({ manifest, tags, qualifiedNames: qualified, imageId: image.configDigest, sourceId: info?.id, sourceRef, platform: configPlatform(image.config) });
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
  const index = buildIndex(entries, { created: input.created, producer: input.producer });
  const storedBytes = [...sizes.values()].reduce((a, b) => a + b, 0) + index.length;
  return { blobs, index, images: exported, storedBytes };
}
