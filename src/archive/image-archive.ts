import { sha256Digest, type Digest } from '../digest/digest.ts';
import { LimitExceededError, MalformedArchiveError } from '../errors.ts';
import { Annotation } from '../bundle/annotations.ts';
import { MANIFEST_MEDIA_TYPES, MediaType } from '../bundle/media-types.ts';
import { parseDescriptor } from '../bundle/parse.ts';
import type { Descriptor, Platform } from '../bundle/model.ts';
import { configPlatform } from '../bundle/config.ts';
import type { BorrowedChunk, BorrowedChunks } from '../io/borrowed-chunks.ts';
import { readTar } from './tar/tar-reader.ts';
import { peek, sniff, type ContentKind } from './sniff.ts';

/** A layer as the store now holds it. */
export interface LayerBlob {
  digest: Digest;
  size: number;
  mediaType: string;
  /** Size before compression, when handover compressed it. */
  uncompressedSize: number | undefined;
  /** False when the store already held it. */
  written: boolean;
}

/**
 * Takes a layer's bytes as they stream out of the archive and stores them.
 * `digest` is known when the archive names the blob by digest (OCI layouts).
 * It resolves once it has consumed the body; with a PendingLayer, storing
 * it may go on while the next layer streams.
 */
export type LayerSink = (body: BorrowedChunks, kind: Exclude<ContentKind, 'json'>, digest: Digest | undefined) => Promise<LayerBlob | PendingLayer>;

/** A layer whose body the sink has consumed, still being stored (hashed, moved into place). */
export interface PendingLayer {
  pending: Promise<LayerBlob>;
}

/**
 * Recognises a layer the caller already holds as it arrives, by the digest
 * the archive names it by (OCI layouts) or by the legacy `json` that docker
 * save's older layout writes beside each layer.tar (and before it). The
 * reader then passes over the layer's bytes instead of handing them to the sink.
 */
export type LayerReuse = (layer: { path: string; digest: Digest | undefined; legacyJson: Buffer | undefined }) => LayerBlob | undefined;

export interface ReadArchiveOptions {
  reuse?: LayerReuse | undefined;
}

/** A small document exactly as the archive holds it. */
export interface RawBlob {
  bytes: Buffer;
  digest: Digest;
  mediaType: string;
}

export interface ArchiveImage {
  /** The config exactly as the archive holds it: its digest is the image id on classic engines. */
  config: Buffer;
  configDigest: Digest;
  /** Names the archive gives the image, e.g. "charon:local" (none for a platform of an index). */
  tags: string[];
  layers: LayerBlob[];
  /** The manifest as the archive holds it (OCI layouts), and the layer digests it lists; docker save's legacy layout has none. */
  manifest: (RawBlob & { layers: Digest[] }) | undefined;
  /** The platform its index names for it, else its config's. */
  platform: Platform | undefined;
  /** The digest of the index it is a platform of, if it is one. */
  index: Digest | undefined;
}

/**
 * An image index as the archive holds it: a multi-platform image, or one
 * platform with its attestations (BuildKit's), whose digest is the image id
 * on containerd's image store.
 */
export interface ArchiveIndex {
  raw: RawBlob;
  tags: string[];
  /** The manifest digests of its platforms the archive holds, in the index's order. */
  platforms: Digest[];
  /** Other documents it lists that the archive holds whole: attestation manifests and their layers. */
  attachments: RawBlob[];
}

/** What an archive holds: every image (platforms of an index included) and the indexes. */
export interface ImageArchive {
  images: ArchiveImage[];
  indexes: ArchiveIndex[];
}

const MAX_JSON_BYTES = 16 * 1024 * 1024;
const MAX_ENTRIES = 100_000;
const BLOB_PATH = /^(?:\.\/)?blobs\/sha256\/([0-9a-f]{64})$/;

function malformed(why: string): MalformedArchiveError {
  return new MalformedArchiveError(`The image archive is not one handover can read: ${why}.`, {
    hint: 'Pass an archive written by docker save, or by buildx with type=docker,dest= or type=oci,dest=.',
  });
}

async function collect(body: AsyncIterable<BorrowedChunk>, limit: number, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body) {
    length += chunk.length;
    if (length > limit) throw new LimitExceededError(`Archive entry '${name}' is larger than the ${limit} bytes a metadata file may have.`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** Where a symbolic link in the archive points, as an archive path; undefined when it leaves the archive. */
function linkTarget(path: string, linkname: string): string | undefined {
  const parts = linkname.startsWith('/') ? [] : directoryOf(path).split('/').filter((part) => part !== '');
  for (const part of linkname.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..') parts.push(part);
    else if (parts.pop() === undefined) return undefined;
  }
  return parts.join('/');
}

function directoryOf(path: string): string {
  return path.slice(0, Math.max(0, path.lastIndexOf('/')));
}

function normalizePath(name: string): string {
  return name.replace(/^\.\//, '');
}

function parseJsonEntry(files: Map<string, Buffer>, path: string, what: string): unknown {
  const bytes = files.get(normalizePath(path));
  if (bytes === undefined) throw malformed(`${what} '${path}' is missing`);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    throw malformed(`${what} '${path}' is not JSON`);
  }
}

/**
 * Reads an image archive (docker save's legacy layout, or an OCI image
 * layout as buildx and newer engines write) in one pass. Metadata is kept in
 * memory; layers stream through `sink` as they arrive, because the archive's
 * manifest usually comes after them.
 */
export async function readImageArchive(source: AsyncIterable<Uint8Array>, sink: LayerSink, options: ReadArchiveOptions = {}): Promise<ImageArchive> {
  const files = new Map<string, Buffer>();
  const pending = new Map<string, Promise<LayerBlob>>();
  const legacyJson = new Map<string, Buffer>();
  const links = new Map<string, string>();
  let entries = 0;
  for await (const entry of readTar(source)) {
    if (++entries > MAX_ENTRIES) throw new LimitExceededError(`The image archive has more than ${MAX_ENTRIES} entries.`);
    const path = normalizePath(entry.header.name);
    if (entry.header.type === 'symlink') {
      // docker save writes a layer that an image holds twice once, and links the second path to it.
      const target = linkTarget(path, entry.header.linkname);
      if (target !== undefined) links.set(path, target);
      continue;
    }
    if (entry.header.type !== 'file') continue;
    if (path === 'repositories' || /(^|\/)VERSION$/.test(path)) continue;
    if (/(^|\/)json$/.test(path)) {
      if (options.reuse !== undefined) legacyJson.set(directoryOf(path), await collect(entry.body, MAX_JSON_BYTES, path));
      continue;
    }
    const known = BLOB_PATH.exec(path);
    const digest: Digest | undefined = known === null ? undefined : `sha256:${known[1]}`;
    const reused = options.reuse?.({ path, digest, legacyJson: legacyJson.get(directoryOf(path)) });
    if (reused !== undefined) {
      for await (const chunk of entry.body) void chunk;
      pending.set(path, Promise.resolve(reused));
      continue;
    }
    const { head, all } = await peek(entry.body, 512);
    const kind = sniff(head);
    if (kind === 'json') {
      files.set(path, await collect(all, MAX_JSON_BYTES, path));
      continue;
    }
    const result = await sink(all, kind, digest);
    const stored = 'pending' in result ? result.pending : Promise.resolve(result);
    stored.catch(() => undefined); // awaited below, once the archive is read
    pending.set(path, stored);
  }
  const layers = new Map<string, LayerBlob>();
  for (const [path, stored] of pending) layers.set(path, await stored);
  for (const [path, target] of links) {
    const layer = layers.get(target);
    if (layer !== undefined && !layers.has(path)) layers.set(path, layer);
  }
  // Newer engines write both: the OCI layout keeps manifests, indexes and every platform.
  if (files.has('index.json')) return ociImages(files, layers);
  if (files.has('manifest.json')) return { images: legacyImages(files, layers), indexes: [] };
  throw malformed('it has neither manifest.json (docker save) nor index.json (OCI layout)');
}

interface LegacyEntry {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
}

function legacyImages(files: Map<string, Buffer>, layers: Map<string, LayerBlob>): ArchiveImage[] {
  const manifest = parseJsonEntry(files, 'manifest.json', 'the manifest');
  if (!Array.isArray(manifest) || manifest.length === 0) throw malformed('manifest.json lists no images');
  return (manifest as unknown[]).map((raw, i) => {
    if (raw === null || typeof raw !== 'object') throw malformed(`image ${i + 1} in manifest.json is not an object`);
    const entry = raw as LegacyEntry;
    if (typeof entry.Config !== 'string' || !Array.isArray(entry.Layers)) throw malformed(`image ${i + 1} in manifest.json lacks Config or Layers`);
    const config = files.get(normalizePath(entry.Config));
    if (config === undefined) throw malformed(`the config '${entry.Config}' of image ${i + 1} is missing`);
    const imageLayers = entry.Layers.map((path: unknown) => {
      const layer = typeof path === 'string' ? layers.get(normalizePath(path)) : undefined;
      if (layer === undefined) throw malformed(`layer '${String(path)}' of image ${i + 1} is missing`);
      return layer;
    });
    const tags = Array.isArray(entry.RepoTags) ? entry.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    return { config, configDigest: sha256Digest(config), tags, layers: imageLayers, manifest: undefined, platform: configPlatform(config), index: undefined };
  });
}

function blobPathOf(digest: Digest): string {
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

/** A JSON blob the archive holds, checked against its digest; undefined when the archive lacks it. */
function rawBlob(files: Map<string, Buffer>, descriptor: Descriptor): RawBlob | undefined {
  const bytes = files.get(blobPathOf(descriptor.digest));
  if (bytes === undefined) return undefined;
  if (sha256Digest(bytes) !== descriptor.digest) throw malformed(`blob ${descriptor.digest} does not match its digest`);
  return { bytes, digest: descriptor.digest, mediaType: descriptor.mediaType };
}

function jsonOf(raw: RawBlob): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(raw.bytes.toString('utf8'));
  } catch {
    throw malformed(`blob ${raw.digest} is not JSON`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw malformed(`blob ${raw.digest} is not a JSON object`);
  return value as Record<string, unknown>;
}

function ociTag(descriptor: Descriptor): string | undefined {
  const annotations = descriptor.annotations ?? {};
  const full = annotations[Annotation.containerdName];
  if (full !== undefined) return full;
  const name = annotations[Annotation.refName];
  // A bare tag ("latest") names no repository; only a full reference can be loaded under.
  return name !== undefined && /[:/]/.test(name) ? name : undefined;
}

function isAttestation(descriptor: Descriptor): boolean {
  return descriptor.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest';
}

function isIndex(mediaType: string): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;
}

function childDescriptors(index: Record<string, unknown>, of: Digest): Descriptor[] {
  const children = Array.isArray(index['manifests']) ? index['manifests'] : [];
  return children.map((child, i) => parseDescriptor(child, `manifest ${i + 1} of index ${of}`));
}

/** An attestation manifest and the JSON layers it carries, when the archive holds them all. */
function attachment(files: Map<string, Buffer>, descriptor: Descriptor): RawBlob[] {
  const manifest = rawBlob(files, descriptor);
  if (manifest === undefined) return [];
  const json = jsonOf(manifest);
  const layers: unknown[] = Array.isArray(json['layers']) ? (json['layers'] as unknown[]) : [];
  const blobs: RawBlob[] = [];
  try {
    for (const [i, raw] of [json['config'], ...layers].entries()) {
      const blob = rawBlob(files, parseDescriptor(raw, `part ${i + 1} of attestation ${descriptor.digest}`));
      if (blob === undefined) return [];
      blobs.push(blob);
    }
  } catch {
    return []; // not one the bundle can carry whole: the index stands without it
  }
  return [manifest, ...blobs];
}

/**
 * The images of an OCI layout. An index the layout names (a multi-platform
 * image, or BuildKit's one platform with attestations) is kept whole, with
 * each platform the archive holds; a platform it lacks is left out (as an
 * engine saves an image pulled for one platform).
 */
function ociImages(files: Map<string, Buffer>, layers: Map<string, LayerBlob>): ImageArchive {
  const images = new Map<Digest, ArchiveImage>();
  const indexes = new Map<Digest, ArchiveIndex>();
  const image = (descriptor: Descriptor, tag: string | undefined, index: Digest | undefined, platform: Platform | undefined): ArchiveImage | undefined => {
    const manifest = rawBlob(files, descriptor);
    if (manifest === undefined) return undefined;
    const json = jsonOf(manifest);
    const configDescriptor = parseDescriptor(json['config'], `config of manifest ${descriptor.digest}`);
    const config = files.get(blobPathOf(configDescriptor.digest));
    if (config === undefined) throw malformed(`config ${configDescriptor.digest} is missing`);
    const layerList = Array.isArray(json['layers']) ? json['layers'] : [];
    const listed = layerList.map((raw, i) => parseDescriptor(raw, `layer ${i + 1} of manifest ${descriptor.digest}`).digest);
    const imageLayers = listed.map((digest) => {
      const stored = layers.get(blobPathOf(digest));
      if (stored === undefined) throw malformed(`layer ${digest} is missing`);
      return stored;
    });
    const key = index === undefined ? sha256Digest(config) : descriptor.digest;
    const existing = images.get(key);
    if (existing !== undefined) {
      if (tag !== undefined && !existing.tags.includes(tag)) existing.tags.push(tag);
      return existing;
    }
    const made: ArchiveImage = {
      config,
      configDigest: sha256Digest(config),
      tags: tag === undefined ? [] : [tag],
      layers: imageLayers,
      manifest: { ...manifest, layers: listed },
      platform: platform ?? configPlatform(config),
      index,
    };
    images.set(key, made);
    return made;
  };
  const visitIndex = (descriptor: Descriptor, tag: string | undefined): void => {
    const existing = indexes.get(descriptor.digest);
    if (existing !== undefined) {
      if (tag !== undefined && !existing.tags.includes(tag)) existing.tags.push(tag);
      return;
    }
    const raw = rawBlob(files, descriptor);
    if (raw === undefined) throw malformed(`index ${descriptor.digest} is missing`);
    const platforms: Digest[] = [];
    const attachments: RawBlob[] = [];
    for (const child of childDescriptors(jsonOf(raw), descriptor.digest)) {
      if (isAttestation(child)) attachments.push(...attachment(files, child));
      else if (isIndex(child.mediaType)) throw malformed(`index ${descriptor.digest} nests another index`);
      else if (MANIFEST_MEDIA_TYPES.has(child.mediaType) && image(child, undefined, descriptor.digest, child.platform) !== undefined) platforms.push(child.digest);
    }
    if (platforms.length === 0) throw malformed(`index ${descriptor.digest} has none of its platforms in the archive`);
    indexes.set(descriptor.digest, { raw, tags: tag === undefined ? [] : [tag], platforms, attachments });
  };
  const index = parseJsonEntry(files, 'index.json', 'the index') as Record<string, unknown> | null;
  if (index === null || typeof index !== 'object') throw malformed('index.json is not a JSON object');
  const manifests = Array.isArray(index['manifests']) ? index['manifests'] : [];
  for (const [i, raw] of manifests.entries()) {
    const descriptor = parseDescriptor(raw, `manifest ${i + 1} of index.json`);
    if (isIndex(descriptor.mediaType)) visitIndex(descriptor, ociTag(descriptor));
    else if (MANIFEST_MEDIA_TYPES.has(descriptor.mediaType) && image(descriptor, ociTag(descriptor), undefined, descriptor.platform) === undefined) {
      throw malformed(`manifest ${descriptor.digest} is missing`);
    }
  }
  if (images.size === 0) throw malformed('index.json lists no image manifests');
  return { images: [...images.values()], indexes: [...indexes.values()] };
}
