import type { Digest } from '../digest/digest.ts';

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
}

/** One image of a bundle, as a consumer sees it. */
export interface BundleImage {
  manifest: Descriptor;
  /** Tags it is loaded under, e.g. ["charon:local"]. */
  tags: string[];
  /** The config digest recorded by the producer, checked against the manifest when loading. */
  imageId: Digest | undefined;
  /** The id the producing engine reported, when recorded. */
  sourceId: string | undefined;
}

/** A parsed, validated bundle index. */
export interface BundleIndex {
  /** The digest of the index.json bytes: the bundle digest. */
  digest: Digest;
  formatVersion: number | undefined;
  images: BundleImage[];
  annotations: Record<string, string>;
}
