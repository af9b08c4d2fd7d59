import { isDigest, sha256Digest, type Digest } from '../digest/digest.ts';
import { LimitExceededError, MalformedBundleError, UnsafePathError, UnsupportedMediaTypeError, UnsupportedVersionError } from '../errors.ts';
import { Annotation, FORMAT_VERSION } from './annotations.ts';
import { CONFIG_MEDIA_TYPES, INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES, MediaType, layerCompression } from './media-types.ts';
import type { BundleImage, BundleIndex, Descriptor, ImageManifest, Platform } from './model.ts';

/** Limits that keep a hostile bundle from costing unbounded memory or time. */
export const BundleLimits = {
  maxImages: 256,
  maxLayers: 512,
  maxManifestBytes: 4 * 1024 * 1024,
  maxConfigBytes: 16 * 1024 * 1024,
  maxAnnotations: 256,
} as const;

type Json = Record<string, unknown>;

function malformed(what: string, found: string): MalformedBundleError {
  return new MalformedBundleError(`The bundle's ${what} is malformed: ${found}.`, {
    hint: 'The bundle was not written by handover export or was altered. Export it again.',
  });
}

/** A short description of a found value for messages; never recurses, so a hostile deep value cannot overflow the stack. */
function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value !== null && typeof value === 'object') return 'an object';
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 100 ? `${text.slice(0, 100)}…` : text;
}

function parseJson(bytes: Uint8Array, what: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    // A RangeError here is a document nested too deep to parse: hostile, not a bug.
    throw malformed(what, `not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw malformed(what, 'expected a JSON object');
  return value as Json;
}

function parseAnnotations(value: unknown, what: string): Record<string, string> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw malformed(what, 'annotations must be an object of strings');
  const entries = Object.entries(value);
  if (entries.length > BundleLimits.maxAnnotations) throw malformed(what, `${entries.length} annotations`);
  for (const [, v] of entries) if (typeof v !== 'string') throw malformed(what, 'annotations must be strings');
  return Object.fromEntries(entries);
}

function parseDescriptorDigest(value: unknown, what: string): Digest {
  if (isDigest(value)) return value;
  if (typeof value === 'string' && (value.includes('/') || value.includes('\\') || value.includes('..'))) {
    throw new UnsafePathError(`The bundle's ${what} names a blob path that would leave the bundle: '${value}'.`, {
      hint: 'Refusing to read it. The bundle was crafted or altered; do not use it.',
    });
  }
  throw malformed(what, `digest ${describeValue(value)} is not sha256:<64 hex digits>`);
}

export function parseDescriptor(value: unknown, what: string): Descriptor {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw malformed(what, 'expected a descriptor object');
  const raw = value as Json;
  if (typeof raw['mediaType'] !== 'string') throw malformed(what, 'mediaType is missing');
  const digest = parseDescriptorDigest(raw['digest'], what);
  const size = raw['size'];
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw malformed(what, `size ${describeValue(size)} is not a byte count`);
  const descriptor: Descriptor = { mediaType: raw['mediaType'], digest, size };
  const annotations = parseAnnotations(raw['annotations'], what);
  if (Object.keys(annotations).length > 0) descriptor.annotations = annotations;
  return descriptor;
}

function parseFormatVersion(annotations: Record<string, string>): number | undefined {
  const raw = annotations[Annotation.formatVersion];
  if (raw === undefined) return undefined;
  const version = Number(raw);
  if (!Number.isInteger(version) || version < 1) throw malformed('index', `format version '${raw}'`);
  if (version > FORMAT_VERSION) {
    throw new UnsupportedVersionError(
      `The bundle was written in format version ${version}; this handover reads up to version ${FORMAT_VERSION}.`,
      { hint: 'Upgrade handover on the consumer to the version the producer uses.', details: { version } },
    );
  }
  return version;
}

/** Parses and validates index.json. Images with several tags appear once, with all their tags. */
export function parseIndex(bytes: Uint8Array): BundleIndex {
  const raw = parseJson(bytes, 'index.json');
  if (raw['schemaVersion'] !== 2) throw malformed('index.json', `schemaVersion ${describeValue(raw['schemaVersion'])}, expected 2`);
  if (raw['mediaType'] !== undefined && raw['mediaType'] !== MediaType.ociIndex) {
    throw new UnsupportedMediaTypeError(`The bundle's index has media type ${describeValue(raw['mediaType'])}; expected ${MediaType.ociIndex}.`);
  }
  const annotations = parseAnnotations(raw['annotations'], 'index.json');
  const formatVersion = parseFormatVersion(annotations);
  const manifests = raw['manifests'];
  if (!Array.isArray(manifests)) throw malformed('index.json', 'manifests is not a list');
  if (manifests.length > BundleLimits.maxImages) {
    throw new LimitExceededError(`The bundle lists ${manifests.length} manifests; at most ${BundleLimits.maxImages} are accepted.`);
  }
  const images = new Map<Digest, BundleImage>();
  manifests.forEach((value, i) => {
    const descriptor = parseDescriptor(value, `manifest ${i + 1} in index.json`);
    if (!MANIFEST_MEDIA_TYPES.has(descriptor.mediaType) && !INDEX_MEDIA_TYPES.has(descriptor.mediaType)) {
      throw new UnsupportedMediaTypeError(
        `Manifest ${i + 1} in the bundle has media type '${descriptor.mediaType}'; handover loads image manifests and image indexes (${MediaType.ociManifest}, ${MediaType.ociIndex}).`,
        { hint: 'The bundle was not written by handover export or was altered. Export it again.' },
      );
    }
    if (descriptor.size > BundleLimits.maxManifestBytes) {
      throw new LimitExceededError(`Manifest ${descriptor.digest} is recorded as ${descriptor.size} bytes; at most ${BundleLimits.maxManifestBytes} are accepted.`);
    }
    const tag = descriptor.annotations?.[Annotation.refName];
    const recordedId = descriptor.annotations?.[Annotation.imageId];
    const existing = images.get(descriptor.digest);
    if (existing !== undefined) {
      if (tag !== undefined && !existing.tags.includes(tag)) existing.tags.push(tag);
      return;
    }
    images.set(descriptor.digest, {
      manifest: descriptor,
      tags: tag === undefined ? [] : [tag],
      imageId: recordedId === undefined ? undefined : parseDescriptorDigest(recordedId, `image id of manifest ${i + 1}`),
      sourceId: descriptor.annotations?.[Annotation.sourceId],
    });
  });
  if (images.size === 0) throw malformed('index.json', 'it lists no images');
  return { digest: sha256Digest(bytes), formatVersion, images: [...images.values()], annotations };
}

/** Parses and validates an image manifest; its bytes must already be verified against its digest. */
export function parseManifest(bytes: Uint8Array, what = 'manifest'): ImageManifest {
  const raw = parseJson(bytes, what);
  if (raw['schemaVersion'] !== 2) throw malformed(what, `schemaVersion ${describeValue(raw['schemaVersion'])}, expected 2`);
  const config = parseDescriptor(raw['config'], `${what} config`);
  if (!CONFIG_MEDIA_TYPES.has(config.mediaType)) {
    throw new UnsupportedMediaTypeError(`The ${what} has a config of media type '${config.mediaType}'; expected an image config.`);
  }
  if (config.size > BundleLimits.maxConfigBytes) {
    throw new LimitExceededError(`The image config is recorded as ${config.size} bytes; at most ${BundleLimits.maxConfigBytes} are accepted.`);
  }
  const layersRaw = raw['layers'];
  if (!Array.isArray(layersRaw)) throw malformed(what, 'layers is not a list');
  if (layersRaw.length > BundleLimits.maxLayers) {
    throw new LimitExceededError(`The ${what} lists ${layersRaw.length} layers; at most ${BundleLimits.maxLayers} are accepted.`);
  }
  const layers = layersRaw.map((value, i) => {
    const layer = parseDescriptor(value, `layer ${i + 1} of the ${what}`);
    if (layerCompression(layer.mediaType) === undefined) {
      throw new UnsupportedMediaTypeError(`Layer ${i + 1} has media type '${layer.mediaType}', which handover does not load.`, {
        hint: 'Layers must be tar, tar+gzip or tar+zstd.',
      });
    }
    return layer;
  });
  const mediaType = typeof raw['mediaType'] === 'string' ? raw['mediaType'] : MediaType.ociManifest;
  return { schemaVersion: 2, mediaType, config, layers, annotations: parseAnnotations(raw['annotations'], what) };
}

/** An image's index (several platforms, or one with attestations), as a bundle carries it. */
export interface ImagePlatforms {
  /** The image manifests it lists, with their platforms. */
  platforms: Descriptor[];
  /** Other manifests it lists (attestations), which a consumer may leave out. */
  attachments: Descriptor[];
}

function parsePlatform(value: unknown, what: string): Platform | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw malformed(what, 'platform is not an object');
  const raw = value as Json;
  if (typeof raw['os'] !== 'string' || typeof raw['architecture'] !== 'string') throw malformed(what, 'platform lacks os or architecture');
  return { os: raw['os'], architecture: raw['architecture'], ...(typeof raw['variant'] === 'string' ? { variant: raw['variant'] } : {}) };
}

/** Parses an image index whose bytes are verified against its digest. */
export function parseImagePlatforms(bytes: Uint8Array, what = 'image index'): ImagePlatforms {
  const raw = parseJson(bytes, what);
  if (raw['schemaVersion'] !== 2) throw malformed(what, `schemaVersion ${describeValue(raw['schemaVersion'])}, expected 2`);
  const manifests = raw['manifests'];
  if (!Array.isArray(manifests)) throw malformed(what, 'manifests is not a list');
  if (manifests.length > BundleLimits.maxImages) throw new LimitExceededError(`The ${what} lists ${manifests.length} manifests; at most ${BundleLimits.maxImages} are accepted.`);
  const platforms: Descriptor[] = [];
  const attachments: Descriptor[] = [];
  manifests.forEach((value, i) => {
    const descriptor = parseDescriptor(value, `manifest ${i + 1} of the ${what}`);
    const platform = parsePlatform((value as Json)['platform'], `manifest ${i + 1} of the ${what}`);
    if (platform !== undefined) descriptor.platform = platform;
    if (!MANIFEST_MEDIA_TYPES.has(descriptor.mediaType)) {
      throw new UnsupportedMediaTypeError(`The ${what} lists a manifest of media type '${descriptor.mediaType}'; handover loads indexes of image manifests.`, {
        hint: 'An index of indexes is not a bundle handover writes. Export the image again.',
      });
    }
    if (descriptor.size > BundleLimits.maxManifestBytes) {
      throw new LimitExceededError(`Manifest ${descriptor.digest} is recorded as ${descriptor.size} bytes; at most ${BundleLimits.maxManifestBytes} are accepted.`);
    }
    const attestation = descriptor.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest';
    (attestation || platform === undefined || platform.os === 'unknown' ? attachments : platforms).push(descriptor);
  });
  return { platforms, attachments };
}
