import { sha256Digest, type Digest } from '../digest/digest.ts';
import { LimitExceededError, MalformedArchiveError } from '../errors.ts';
import { Annotation } from '../bundle/annotations.ts';
import { MANIFEST_MEDIA_TYPES, MediaType } from '../bundle/media-types.ts';
import { parseDescriptor } from '../bundle/parse.ts';
import type { Descriptor } from '../bundle/model.ts';
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

export interface ArchiveImage {
  /** The config exactly as the archive holds it: its digest is the image id. */
  config: Buffer;
  configDigest: Digest;
  /** Names the archive gives the image, e.g. "charon:local". */
  tags: string[];
  layers: LayerBlob[];
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
export async function readImageArchive(source: AsyncIterable<Uint8Array>, sink: LayerSink, options: ReadArchiveOptions = {}): Promise<ArchiveImage[]> {
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
  if (files.has('manifest.json')) return legacyImages(files, layers);
  if (files.has('index.json')) return ociImages(files, layers);
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
    return { config, configDigest: sha256Digest(config), tags, layers: imageLayers };
  });
}

function blobJson(files: Map<string, Buffer>, descriptor: Descriptor): Record<string, unknown> {
  const path = `blobs/sha256/${descriptor.digest.slice('sha256:'.length)}`;
  const bytes = files.get(path);
  if (bytes === undefined) throw malformed(`blob ${descriptor.digest} is missing`);
  if (sha256Digest(bytes) !== descriptor.digest) throw malformed(`blob ${descriptor.digest} does not match its digest`);
  const value = parseJsonEntry(files, path, 'blob');
  if (value === null || typeof value !== 'object') throw malformed(`blob ${descriptor.digest} is not a JSON object`);
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

function ociImages(files: Map<string, Buffer>, layers: Map<string, LayerBlob>): ArchiveImage[] {
  const images = new Map<Digest, ArchiveImage>();
  const visit = (descriptor: Descriptor, tag: string | undefined, depth: number): void => {
    if (depth > 4) throw malformed('image indexes are nested too deeply');
    if (descriptor.mediaType === MediaType.ociIndex || descriptor.mediaType === MediaType.dockerManifestList) {
      const index = blobJson(files, descriptor);
      const children = Array.isArray(index['manifests']) ? index['manifests'] : [];
      for (const [i, child] of children.entries()) {
        const parsed = parseDescriptor(child, `manifest ${i + 1} of index ${descriptor.digest}`);
        if (!isAttestation(parsed)) visit(parsed, tag, depth + 1);
      }
      return;
    }
    if (!MANIFEST_MEDIA_TYPES.has(descriptor.mediaType)) return;
    const manifest = blobJson(files, descriptor);
    const configDescriptor = parseDescriptor(manifest['config'], `config of manifest ${descriptor.digest}`);
    const config = files.get(`blobs/sha256/${configDescriptor.digest.slice('sha256:'.length)}`);
    if (config === undefined) throw malformed(`config ${configDescriptor.digest} is missing`);
    const layerList = Array.isArray(manifest['layers']) ? manifest['layers'] : [];
    const imageLayers = layerList.map((raw, i) => {
      const layer = parseDescriptor(raw, `layer ${i + 1} of manifest ${descriptor.digest}`);
      const stored = layers.get(`blobs/sha256/${layer.digest.slice('sha256:'.length)}`);
      if (stored === undefined) throw malformed(`layer ${layer.digest} is missing`);
      return stored;
    });
    const configDigest = sha256Digest(config);
    const existing = images.get(configDigest);
    if (existing !== undefined) {
      if (tag !== undefined && !existing.tags.includes(tag)) existing.tags.push(tag);
      return;
    }
    images.set(configDigest, { config, configDigest, tags: tag === undefined ? [] : [tag], layers: imageLayers });
  };
  const index = parseJsonEntry(files, 'index.json', 'the index') as Record<string, unknown> | null;
  if (index === null || typeof index !== 'object') throw malformed('index.json is not a JSON object');
  const manifests = Array.isArray(index['manifests']) ? index['manifests'] : [];
  for (const [i, raw] of manifests.entries()) {
    const descriptor = parseDescriptor(raw, `manifest ${i + 1} of index.json`);
    visit(descriptor, ociTag(descriptor), 0);
  }
  if (images.size === 0) throw malformed('index.json lists no image manifests');
  return [...images.values()];
}
