import type { Digest } from '../digest/digest.ts';
import { Annotation, FORMAT_VERSION } from './annotations.ts';
import { INDEX_MEDIA_TYPES, MediaType } from './media-types.ts';
import type { Descriptor, ImageIndex, ImageManifest, Platform } from './model.ts';

export interface ManifestInput {
  config: { digest: Digest; size: number };
  layers: Array<{ mediaType: string; digest: Digest; size: number; uncompressedSize?: number }>;
}

export function buildManifest(input: ManifestInput): Uint8Array {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: input.config.digest, size: input.config.size },
    layers: input.layers.map((layer) => ({
      mediaType: layer.mediaType,
      digest: layer.digest,
      size: layer.size,
      ...(layer.uncompressedSize === undefined ? {} : { annotations: { [Annotation.uncompressedSize]: String(layer.uncompressedSize) } }),
    })),
  };
  return Buffer.from(JSON.stringify(manifest));
}

/** The platforms of an image index handover builds (when it transcoded an index's layers). */
export function buildImageIndex(manifests: ReadonlyArray<{ digest: Digest; size: number; platform: Platform | undefined }>): Uint8Array {
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: manifests.map((m) => ({ mediaType: MediaType.ociManifest, digest: m.digest, size: m.size, ...(m.platform === undefined ? {} : { platform: m.platform }) })),
  };
  return Buffer.from(JSON.stringify(index));
}

export interface IndexEntry {
  /** The image's manifest, or its image index (several platforms, or one with attestations). */
  manifest: { digest: Digest; size: number; mediaType?: string | undefined };
  /** Tags, in familiar form ("charon:local"); none leaves the image untagged. */
  tags: string[];
  /** Fully qualified names, one per tag, for containerd's annotation. */
  qualifiedNames: string[];
  /** The config digest (the image id on classic engines); none for an index. */
  imageId: Digest | undefined;
  sourceId: string | undefined;
  sourceRef: string | undefined;
  platform: Platform | undefined;
}

export interface IndexMetadata {
  created: Date;
  /** Producer facts (tool version, CI provider, run, commit…) keyed by annotation. */
  producer: Record<string, string>;
}

function entryDescriptor(entry: IndexEntry, tagIndex: number | undefined): Descriptor {
  const annotations: Record<string, string> = {};
  if (tagIndex !== undefined) {
    annotations[Annotation.refName] = entry.tags[tagIndex]!;
    annotations[Annotation.containerdName] = entry.qualifiedNames[tagIndex]!;
  }
  if (entry.imageId !== undefined) annotations[Annotation.imageId] = entry.imageId;
  if (entry.sourceId !== undefined) annotations[Annotation.sourceId] = entry.sourceId;
  if (entry.sourceRef !== undefined) annotations[Annotation.sourceRef] = entry.sourceRef;
  return {
    mediaType: entry.manifest.mediaType ?? MediaType.ociManifest,
    digest: entry.manifest.digest,
    size: entry.manifest.size,
    annotations,
    ...(entry.platform === undefined ? {} : { platform: entry.platform }),
  };
}

/**
 * The bundle's index.json: one descriptor per tag (the OCI layout's way of
 * naming an image several times), and the producer's facts on the index.
 */
export function buildIndex(entries: readonly IndexEntry[], metadata: IndexMetadata): Uint8Array {
  const manifests = entries.flatMap((entry) =>
    entry.tags.length === 0 ? [entryDescriptor(entry, undefined)] : entry.tags.map((_, i) => entryDescriptor(entry, i)),
  );
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests,
    annotations: {
      // A bundle of image manifests alone stays readable by format-1 consumers.
      [Annotation.formatVersion]: String(entries.some((e) => INDEX_MEDIA_TYPES.has(e.manifest.mediaType ?? '')) ? FORMAT_VERSION : 1),
      [Annotation.created]: metadata.created.toISOString(),
      ...metadata.producer,
    },
  };
  return Buffer.from(`${JSON.stringify(index, null, 2)}\n`);
}

export const OCI_LAYOUT_CONTENT = `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`;
