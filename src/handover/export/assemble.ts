import type { ArchiveImage, ArchiveIndex, ImageArchive } from '../../archive/image-archive.ts';
import { buildImageIndex, buildIndex, buildManifest, type IndexEntry } from '../../bundle/build.ts';
import type { Platform } from '../../bundle/model.ts';
import { platformName } from '../../bundle/platform.ts';
import { sha256Digest, type Digest } from '../../digest/digest.ts';
import type { ImageInfo } from '../../engine/engine.ts';
import { familiarTag, parseTagReference, qualifiedTag, type ImageReference } from '../../ref/reference.ts';

export interface ExportedImage {
  tags: string[];
  /** The config digest: the image id on classic engines (of its first platform, for an index). */
  imageId: Digest;
  sourceId: string | undefined;
  sourceRef: string | undefined;
  /** The bundle's entry for it: its manifest, or its image index (the image id on containerd's store). */
  manifestDigest: Digest;
  /** True when the producer's manifest (and index) are kept byte for byte: its layers passed through as they came. */
  keptAsBuilt: boolean;
  /** os/arch[/variant] of each platform it holds. */
  platforms: string[];
  layers: number;
  /** Bytes of its layers before and after compression (every platform). */
  uncompressedBytes: number;
  storedBytes: number;
}

export interface AssembleInput {
  /** The images and indexes as read, their layers already in the store. */
  archive: ImageArchive;
  /** What the engine said of each source, in source order (none for an archive). */
  infos: readonly ImageInfo[];
  /** The sources as the user named them (none for an archive). */
  references: readonly string[];
  /** The tag consumers get, when one was given. */
  tag: (ImageReference & { tag: string }) | undefined;
  created: Date;
  producer: Record<string, string>;
}

/** The bundle's metadata, ready to store: configs, manifests and indexes, then the index. */
export interface AssembledBundle {
  /** Documents to store before the index. */
  blobs: Buffer[];
  index: Uint8Array;
  images: ExportedImage[];
  /** Bytes of every distinct blob the bundle references, and its index. */
  storedBytes: number;
}

function tagsFor(names: readonly string[], tag: AssembleInput['tag']): { tags: string[]; qualified: string[] } {
  const refs = tag !== undefined ? [tag] : names.map((t) => parseTagReference(t, 'a tag in the archive'));
  const unique = new Map(refs.map((r) => [familiarTag(r), qualifiedTag(r)]));
  return { tags: [...unique.keys()], qualified: [...unique.values()] };
}

/** Whether every layer went into the store as the archive's manifest lists it (no transcoding). */
function passedThrough(image: ArchiveImage): boolean {
  const listed = image.manifest?.layers;
  return listed !== undefined && listed.length === image.layers.length && image.layers.every((layer, i) => layer.digest === listed[i]);
}

interface Document {
  bytes: Buffer;
  digest: Digest;
  size: number;
  mediaType: string;
}

function document(bytes: Uint8Array, mediaType: string): Document {
  const buffer = Buffer.from(bytes);
  return { bytes: buffer, digest: sha256Digest(buffer), size: buffer.length, mediaType };
}

/** An image's manifest: the producer's when its layers passed through, else one handover writes. */
function manifestOf(image: ArchiveImage, keep: boolean): Document {
  if (keep && image.manifest !== undefined) return document(image.manifest.bytes, image.manifest.mediaType);
  const config = { digest: sha256Digest(image.config), size: image.config.length };
  return document(buildManifest({ config, layers: image.layers }), 'application/vnd.oci.image.manifest.v1+json');
}

/** One entry of the bundle, before it is tagged and placed. */
interface Assembled {
  descriptor: { digest: Digest; size: number; mediaType: string };
  images: ArchiveImage[];
  names: string[];
  kept: boolean;
  platform: Platform | undefined;
}

/**
 * Builds the bundle's manifests and index from what was read: pure, so the
 * same images always make the same bundle digest (given the same creation
 * time and producer facts). A manifest (and an image index) whose layers
 * passed through as they came is kept byte for byte, so a consumer on
 * containerd's store gets the producer's very image id; one whose layers
 * were compressed here is written anew.
 */
export function assembleBundle(input: AssembleInput): AssembledBundle {
  const { archive, infos, references } = input;
  const blobs: Buffer[] = [];
  const sizes = new Map<Digest, number>();
  const store = (doc: Document): void => {
    if (!sizes.has(doc.digest)) blobs.push(doc.bytes);
    sizes.set(doc.digest, doc.size);
  };
  const storeImage = (image: ArchiveImage, keep: boolean): Document => {
    store(document(image.config, 'config'));
    for (const layer of image.layers) sizes.set(layer.digest, layer.size);
    const manifest = manifestOf(image, keep);
    store(manifest);
    return manifest;
  };
  const assembleIndex = (index: ArchiveIndex): Assembled => {
    const platforms = index.platforms.map((digest) => archive.images.find((image) => image.index === index.raw.digest && image.manifest?.digest === digest)!);
    const keep = platforms.every(passedThrough);
    const manifests = platforms.map((image) => ({ ...storeImage(image, keep), platform: image.platform }));
    let raw: Document;
    if (keep) {
      raw = document(index.raw.bytes, index.raw.mediaType);
      for (const attachment of index.attachments) store(document(attachment.bytes, attachment.mediaType));
    } else {
      raw = document(buildImageIndex(manifests), 'application/vnd.oci.image.index.v1+json');
    }
    store(raw);
    return { descriptor: raw, images: platforms, names: index.tags, kept: keep, platform: undefined };
  };
  const items: Assembled[] = [
    ...archive.images
      .filter((image) => image.index === undefined)
      .map((image): Assembled => {
        const keep = passedThrough(image);
        const manifest = storeImage(image, keep);
        return { descriptor: manifest, images: [image], names: image.tags, kept: keep, platform: image.platform };
      }),
    ...archive.indexes.map(assembleIndex),
  ];
  const entries: IndexEntry[] = [];
  const exported: ExportedImage[] = [];
  for (const [i, item] of items.entries()) {
    const [first] = item.images;
    const ids = new Set([item.descriptor.digest, ...item.images.map((image) => image.configDigest)]);
    const info = infos.find((candidate) => ids.has(candidate.id as Digest)) ?? (items.length === infos.length ? infos[i] : undefined);
    const { tags, qualified } = tagsFor(item.names, input.tag);
    const sourceRef = references.length === items.length ? references[i] : undefined;
    const isIndex = item.images[0]?.index !== undefined;
    entries.push({
      manifest: item.descriptor,
      tags,
      qualifiedNames: qualified,
      imageId: isIndex ? undefined : first!.configDigest,
      sourceId: info?.id,
      sourceRef,
      platform: isIndex ? undefined : item.platform,
    });
    const layers = item.images.flatMap((image) => image.layers);
    exported.push({
      tags,
      imageId: first!.configDigest,
      sourceId: info?.id,
      sourceRef,
      manifestDigest: item.descriptor.digest,
      keptAsBuilt: item.kept,
      platforms: item.images.map((image) => platformName(image.platform)),
      layers: first!.layers.length,
      uncompressedBytes: layers.reduce((sum, l) => sum + (l.uncompressedSize ?? l.size), 0),
      storedBytes: layers.reduce((sum, l) => sum + l.size, 0) + item.images.reduce((sum, image) => sum + image.config.length, 0) + item.descriptor.size,
    });
  }
  const index = buildIndex(entries, { created: input.created, producer: input.producer });
  const storedBytes = [...sizes.values()].reduce((a, b) => a + b, 0) + index.length;
  return { blobs, index, images: exported, storedBytes };
}
