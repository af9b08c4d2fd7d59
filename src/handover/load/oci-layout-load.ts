import { randomBytes } from 'node:crypto';
import type { TarFile } from '../../archive/tar/tar-writer.ts';
import { OCI_LAYOUT_CONTENT } from '../../bundle/build.ts';
import { MediaType } from '../../bundle/media-types.ts';
import type { Descriptor } from '../../bundle/model.ts';
import { digestHex, type Digest } from '../../digest/digest.ts';
import type { BundleSource } from '../../store/store.ts';
import type { ResolvedImage } from '../bundle-reader.ts';
import { verifiedLayer, type LayerReading } from './verified-layer.ts';

/** One load of an OCI image layout, and the id each image will have on the engine. */
export interface OciLayoutLoad {
  files: TarFile[];
  /** index.json, and Docker's manifest.json when asked for: sent last, once every blob is verified. */
  closing: TarFile[];
  totalBytes: number;
  /** The id the engine gives each image: its config digest, or on containerd's store what index.json names. */
  ids: Map<ResolvedImage, Digest>;
}

export interface OciLayoutOptions {
  /**
   * Docker's manifest.json beside the layout: Docker on its own layer store
   * (25 and later) and Podman read it, and name the image by its config
   * digest; containerd's store reads index.json and keeps manifests and
   * indexes, naming the image by what index.json lists.
   */
  dockerManifest: boolean;
  read: LayerReading;
  /** Makes the archive's entry names unique to this load (see below); random when not given. */
  nonce?: string | undefined;
}

function small(name: string, bytes: Buffer | string): TarFile {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  return { name, size: buffer.length, content: () => [buffer] };
}

/**
 * Plans one load of an OCI image layout holding the bundle's images as the
 * producer built them: layers as stored (the engine decompresses them),
 * each hashed on the way against its digest; configs, manifests and image
 * indexes byte for byte. The image is listed untagged: handover tags it once
 * verified. index.json (and manifest.json) come last, so a blob that fails
 * verification stops the upload before the engine can register anything.
 *
 * Blob entries carry a name unique to this load. containerd's importer
 * writes each entry as an ingest named after its path and resumes an ingest
 * of that name left by an aborted load, so a stale prefix would corrupt the
 * next load of the same blob; a fresh name starts a fresh ingest. (Engines
 * find blobs by digest, or by the paths manifest.json gives.)
 */
export function planOciLayoutLoad(source: BundleSource, images: readonly ResolvedImage[], options: OciLayoutOptions): OciLayoutLoad {
  const nonce = options.nonce ?? randomBytes(6).toString('hex');
  const paths = new Map<Digest, string>();
  const files: TarFile[] = [small('oci-layout', OCI_LAYOUT_CONTENT)];
  let totalBytes = 0;
  const pathOf = (digest: Digest): string => `blobs/sha256/${nonce}-${digestHex(digest)}`;
  const add = (digest: Digest, file: () => TarFile): string => {
    const existing = paths.get(digest);
    if (existing !== undefined) return existing;
    const made = file();
    paths.set(digest, made.name);
    files.push(made);
    return made.name;
  };
  const ids = new Map<ResolvedImage, Digest>();
  const listed: Descriptor[] = [];
  const dockerEntries: Array<{ Config: string; RepoTags: null; Layers: string[] }> = [];
  for (const image of images) {
    const label = image.entry.tags[0] ?? image.configDigest;
    const layers = image.manifest.layers.map((layer, i) =>
      add(layer.digest, () => {
        totalBytes += layer.size;
        return { name: pathOf(layer.digest), size: layer.size, content: () => verifiedLayer(source, layer, undefined, `layer ${i + 1} of ${label}`, options.read) };
      }),
    );
    const config = add(image.configDigest, () => small(pathOf(image.configDigest), image.config));
    add(image.manifestDescriptor.digest, () => small(pathOf(image.manifestDescriptor.digest), image.manifestBytes));
    dockerEntries.push({ Config: config, RepoTags: null, Layers: layers });
    const top = image.index === undefined ? image.manifestDescriptor : image.index.descriptor;
    if (image.index !== undefined) {
      const { bytes } = image.index;
      add(top.digest, () => small(pathOf(top.digest), bytes));
    }
    if (!listed.some((d) => d.digest === top.digest)) listed.push({ mediaType: top.mediaType, digest: top.digest, size: top.size });
    ids.set(image, options.dockerManifest ? image.configDigest : top.digest);
  }
  const index = JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: listed });
  const closing = [small('index.json', index)];
  if (options.dockerManifest) closing.push(small('manifest.json', JSON.stringify(dockerEntries)));
  return { files, closing, totalBytes, ids };
}
