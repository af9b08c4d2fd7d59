import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseIndex, parseManifest, BundleLimits } from '../bundle/parse.ts';
import { Annotation } from '../bundle/annotations.ts';
import { parseImageConfig, type ImageConfig } from '../bundle/config.ts';
import { MAX_DOCUMENT_DEPTH, nestsDeeperThan } from '../bundle/json-depth.ts';
import type { BundleImage, BundleIndex, Descriptor, ImageManifest } from '../bundle/model.ts';
import type { Digest } from '../digest/digest.ts';
import { HashingStream } from '../digest/hashing-stream.ts';
import { BundleDigestMismatchError, LimitExceededError, MalformedBundleError, VerificationError } from '../errors.ts';
import type { BundleSource } from '../store/store.ts';

/** One image of a bundle, with its manifest and config read and verified. */
export interface ResolvedImage {
  entry: BundleImage;
  manifest: ImageManifest;
  config: Buffer;
  configDigest: Digest;
  parsedConfig: ImageConfig;
}

export interface ResolvedBundle {
  index: BundleIndex;
  images: ResolvedImage[];
}

/** Reads a small blob whole, verifying its size and digest. */
export async function readVerifiedBlob(source: BundleSource, descriptor: Descriptor, label: string): Promise<Buffer> {
  const stream: Readable = await source.openBlob(descriptor.digest);
  const hashing = new HashingStream({ digest: descriptor.digest, size: descriptor.size, label });
  const chunks: Buffer[] = [];
  await pipeline(stream, hashing, async (verified: AsyncIterable<Buffer>) => {
    for await (const chunk of verified) chunks.push(chunk);
  });
  const bytes = Buffer.concat(chunks);
  if (nestsDeeperThan(bytes, MAX_DOCUMENT_DEPTH)) {
    throw new LimitExceededError(`The ${label} is nested more than ${MAX_DOCUMENT_DEPTH} levels deep.`, {
      hint: 'A bundle\'s manifests and configs are a few levels deep; this one was crafted. Do not use the bundle.',
    });
  }
  return bytes;
}

/**
 * Reads a bundle's index and, for each image, its manifest and config, each
 * verified against its digest. With `expect`, refuses any bundle but the
 * pinned one before anything else is read.
 */
export async function resolveBundle(source: BundleSource, expect: Digest | undefined): Promise<ResolvedBundle> {
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
    const label = entry.tags.length > 0 ? entry.tags.join(', ') : entry.manifest.digest;
    const manifest = parseManifest(await readVerifiedBlob(source, entry.manifest, `manifest of ${label}`), `manifest of ${label}`);
    const config = await readVerifiedBlob(source, manifest.config, `config of ${label}`);
    const configDigest = manifest.config.digest;
    if (entry.imageId !== undefined && entry.imageId !== configDigest) {
      throw new VerificationError(`The bundle records image id ${entry.imageId} for ${label}, but its manifest names config ${configDigest}.`, {
        hint: 'The bundle was altered. Export it again.',
      });
    }
    const parsedConfig = parseImageConfig(config, label);
    if (parsedConfig.diffIds.length !== manifest.layers.length) {
      throw new MalformedBundleError(
        `The image ${label} has ${manifest.layers.length} layers but its config lists ${parsedConfig.diffIds.length} diff ids.`,
      );
    }
    if (manifest.layers.length > BundleLimits.maxLayers) throw new MalformedBundleError(`The image ${label} has too many layers.`);
    images.push({ entry, manifest, config, configDigest, parsedConfig });
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
