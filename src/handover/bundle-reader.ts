import { parseImagePlatforms, parseIndex, parseManifest, BundleLimits } from '../bundle/parse.ts';
import { Annotation } from '../bundle/annotations.ts';
import { configPlatform, parseImageConfig, type ImageConfig } from '../bundle/config.ts';
import { INDEX_MEDIA_TYPES } from '../bundle/media-types.ts';
import { platformMatches, platformName } from '../bundle/platform.ts';
import { MAX_DOCUMENT_DEPTH, nestsDeeperThan } from '../bundle/json-depth.ts';
import type { BundleImage, BundleIndex, Descriptor, ImageManifest, Platform } from '../bundle/model.ts';
import type { Digest } from '../digest/digest.ts';
import { verifiedChunks } from '../digest/verified-chunks.ts';
import { BlobMissingError, BundleDigestMismatchError, LimitExceededError, MalformedBundleError, PlatformNotFoundError, VerificationError } from '../errors.ts';
import type { BundleSource } from '../store/store.ts';

/** One image of a bundle (one platform of it, for an index), with its manifest and config read and verified. */
export interface ResolvedImage {
  entry: BundleImage;
  /** The platform's manifest: its descriptor and exact bytes. */
  manifestDescriptor: Descriptor;
  manifestBytes: Buffer;
  manifest: ImageManifest;
  config: Buffer;
  configDigest: Digest;
  parsedConfig: ImageConfig;
  platform: Platform | undefined;
  /** The image index the entry is, with its exact bytes; undefined for an entry that is a manifest. */
  index: { descriptor: Descriptor; bytes: Buffer; platforms: Descriptor[] } | undefined;
}

export interface ResolvedBundle {
  index: BundleIndex;
  images: ResolvedImage[];
}

/** Which platform of an image index to resolve: one (the engine's, or the one asked for), or every one the bundle holds. */
export type PlatformChoice = { platform: Platform; asked: boolean } | 'all';

/** Reads a small blob whole, verifying its size and digest. */
export async function readVerifiedBlob(source: BundleSource, descriptor: Descriptor, label: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of verifiedChunks(await source.openBlob(descriptor.digest), { digest: descriptor.digest, size: descriptor.size, label })) {
    chunks.push(Buffer.from(chunk));
  }
  const bytes = Buffer.concat(chunks);
  if (nestsDeeperThan(bytes, MAX_DOCUMENT_DEPTH)) {
    throw new LimitExceededError(`The ${label} is nested more than ${MAX_DOCUMENT_DEPTH} levels deep.`, {
      hint: 'A bundle\'s manifests and configs are a few levels deep; this one was crafted. Do not use the bundle.',
    });
  }
  return bytes;
}

function entryLabel(entry: BundleImage): string {
  return entry.tags.length > 0 ? entry.tags.join(', ') : entry.manifest.digest;
}

/** Reads and checks one platform manifest of an entry and its config. */
async function resolveManifest(source: BundleSource, entry: BundleImage, descriptor: Descriptor, index: ResolvedImage['index']): Promise<ResolvedImage> {
  const label = index === undefined ? entryLabel(entry) : `${entryLabel(entry)} (${platformName(descriptor.platform)})`;
  const manifestBytes = await readVerifiedBlob(source, descriptor, `manifest of ${label}`);
  const manifest = parseManifest(manifestBytes, `manifest of ${label}`);
  const config = await readVerifiedBlob(source, manifest.config, `config of ${label}`);
  const configDigest = manifest.config.digest;
  if (index === undefined && entry.imageId !== undefined && entry.imageId !== configDigest) {
    throw new VerificationError(`The bundle records image id ${entry.imageId} for ${label}, but its manifest names config ${configDigest}.`, {
      hint: 'The bundle was altered. Export it again.',
    });
  }
  const parsedConfig = parseImageConfig(config, label);
  if (parsedConfig.diffIds.length !== manifest.layers.length) {
    throw new MalformedBundleError(`The image ${label} has ${manifest.layers.length} layers but its config lists ${parsedConfig.diffIds.length} diff ids.`);
  }
  if (manifest.layers.length > BundleLimits.maxLayers) throw new MalformedBundleError(`The image ${label} has too many layers.`);
  const platform = descriptor.platform ?? configPlatform(config);
  return { entry, manifestDescriptor: descriptor, manifestBytes, manifest, config, configDigest, parsedConfig, platform, index };
}

/** Whether the bundle holds a blob (a platform an index lists may have been left out). */
async function holds(source: BundleSource, digest: Digest): Promise<boolean> {
  try {
    // Opening checks the blob is there; nothing is read until its chunks are.
    await source.openBlob(digest);
    return true;
  } catch (error) {
    if (error instanceof BlobMissingError) return false;
    throw error;
  }
}

/** The platforms of an index entry the bundle holds: the one chosen, or all. */
async function resolveIndexEntry(source: BundleSource, entry: BundleImage, choice: PlatformChoice): Promise<ResolvedImage[]> {
  const label = entryLabel(entry);
  const bytes = await readVerifiedBlob(source, entry.manifest, `image index of ${label}`);
  const { platforms } = parseImagePlatforms(bytes, `image index of ${label}`);
  const index = { descriptor: entry.manifest, bytes, platforms };
  const held: Descriptor[] = [];
  for (const platform of platforms) if (await holds(source, platform.digest)) held.push(platform);
  if (choice === 'all') return await Promise.all(held.map(async (descriptor) => await resolveManifest(source, entry, descriptor, index)));
  const chosen = held.find((descriptor) => platformMatches(descriptor.platform, choice.platform));
  if (chosen === undefined) {
    const has = held.map((d) => platformName(d.platform));
    const whose = choice.asked ? 'asked for with --platform' : "the engine's";
    throw new PlatformNotFoundError(`Bundle '${source.name}' holds ${label} for ${has.join(', ') || 'no platform'}, not for ${platformName(choice.platform)} (${whose}).`, {
      hint: `Build and export the image for ${platformName(choice.platform)} too (docker buildx build --platform ${[...new Set([...has, platformName(choice.platform)])].join(',')}), or load on an engine of a platform it holds.`,
      details: { wanted: platformName(choice.platform), available: has },
    });
  }
  return [await resolveManifest(source, entry, chosen, index)];
}

/**
 * Reads a bundle's index and, for each image, its manifest and config, each
 * verified against its digest; for an image that is an index, the platform
 * chosen (or every one it holds). With `expect`, refuses any bundle but the
 * pinned one before anything else is read.
 */
export async function resolveBundle(source: BundleSource, expect: Digest | undefined, choice: PlatformChoice = 'all'): Promise<ResolvedBundle> {
  const indexBytes = await source.readIndex();
  const index = parseIndex(indexBytes);
  if (expect !== undefined && index.digest !== expect) {
    throw new BundleDigestMismatchError(
      `Bundle '${source.name}' has digest ${index.digest}, but ${expect} was expected.`,
      {
        hint: 'The bundle in the store is not the one the producer built (replaced, re-exported or tampered with). Re-run the producer, or pin the digest it printed.',
        details: { expected: expect, actual: index.digest },
      },
    );
  }
  const images: ResolvedImage[] = [];
  for (const entry of index.images) {
    if (INDEX_MEDIA_TYPES.has(entry.manifest.mediaType)) images.push(...(await resolveIndexEntry(source, entry, choice)));
    else images.push(await resolveManifest(source, entry, entry.manifest, undefined));
  }
  return { index, images };
}

/** The uncompressed size the producer recorded for a layer, if any. */
export function recordedUncompressedSize(layer: Descriptor): number | undefined {
  const raw = layer.annotations?.[Annotation.uncompressedSize];
  if (raw === undefined) return undefined;
  const size = Number(raw);
  return Number.isSafeInteger(size) && size >= 0 ? size : undefined;
}
