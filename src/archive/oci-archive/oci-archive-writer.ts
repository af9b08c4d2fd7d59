import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { OCI_LAYOUT_CONTENT } from '../../bundle/build.ts';
import { INDEX_MEDIA_TYPES } from '../../bundle/media-types.ts';
import { parseImagePlatforms, parseIndex, parseManifest } from '../../bundle/parse.ts';
import { platformName } from '../../bundle/platform.ts';
import { referencedBlobs } from '../../bundle/references.ts';
import { sha256Digest, type Digest } from '../../digest/digest.ts';
import { BlobMissingError } from '../../errors.ts';
import { BLOCK, fileHeader, padding } from '../tar/tar-header.ts';
import { TOC_NAME, serializeToc, type TocEntry } from './archive-toc.ts';
import { DOCKER_MANIFEST_FILE, blobEntryName, dockerManifest, type DockerManifestImage } from './docker-manifest.ts';

export const INDEX_ENTRY = 'index.json';
export const OCI_LAYOUT_ENTRY = 'oci-layout';

export interface WrittenArchive {
  /** Bytes written, end-of-archive blocks included. */
  size: number;
  entries: TocEntry[];
  /** Where the entries after the layers begin. */
  metadataOffset: number;
}

/**
 * Writes a bundle as one tar ("OCI archive") to a stream, in the order a
 * streaming producer and a ranged consumer need:
 *
 *   blobs/sha256/<layer>…   each as soon as the producer has it (compressed)
 *   blobs/sha256/<config>…  held until the end: small, and not final before the layers are
 *   blobs/sha256/<manifest>…
 *   index.json              byte for byte the bundle's index (its digest is the bundle digest)
 *   oci-layout
 *   manifest.json           Docker's, so `docker load` reads the file as it is
 *   handover-toc.json       every entry's offset and size, padded to whole blocks
 *   two zero blocks         end of archive
 *
 * So the consumer finds everything it verifies before loading (index,
 * manifests, configs) in the archive's last bytes.
 *
 * A sink that can take bytes ahead of their place (a block blob, whose
 * block list orders it at the end) may have a layer's bytes before its
 * header can be written: appendPlaced writes the header when the layer is
 * done and has the sink put the bytes there. Such a sink must take one
 * chunk at a time (highWaterMark 1), so that when the stream reaches the
 * layer it holds nothing not yet taken.
 */
export class OciArchiveWriter {
  private position = 0;
  private readonly entries: TocEntry[] = [];
  private readonly written = new Set<string>();
  private readonly held = new Map<Digest, Buffer>();
  private finishing = false;
  /** Pieces waiting to be written, in order; `undefined` ends the archive. */
  private readonly queue: Array<Piece | undefined> = [];
  private wake: (() => void) | undefined;
  /** The piece whose bytes are flowing now. */
  private current: Piece | undefined;
  private failure: Error | undefined;
  /** The one pipeline from this archive's bytes into the sink, for the archive's whole life. */
  private readonly flowing: Promise<void>;

  constructor(sink: Writable) {
    this.flowing = pipeline(this.bytes(), sink).catch((error: unknown) => {
      this.failure ??= error instanceof Error ? error : new Error(String(error));
      // The piece being written when the sink failed, and every one queued after it.
      this.current?.reject(this.failure);
      for (const piece of this.queue.splice(0)) piece?.reject(this.failure);
      throw this.failure;
    });
    // Failures reach callers through their pieces; this only keeps an unawaited rejection quiet.
    this.flowing.catch(() => undefined);
  }

  /** Bytes handed to the sink so far. */
  get offset(): number {
    return this.position;
  }

  /** True when the archive already has, or will have, this blob. */
  has(digest: Digest): boolean {
    return this.written.has(blobEntryName(digest)) || this.held.has(digest);
  }

  /**
   * Appends a blob now (a layer): its header, exactly `size` bytes of
   * `content`, padding. Resolves once the sink has taken them, so a slow
   * sink holds the producer back. A blob already in the archive is skipped
   * (its content is not read). Content of the wrong size fails the archive.
   */
  async appendBlob(digest: Digest, size: number, content: Readable | AsyncIterable<Uint8Array>): Promise<boolean> {
    this.checkOpen();
    const name = blobEntryName(digest);
    if (this.written.has(name)) {
      if ('destroy' in content) content.destroy();
      return false;
    }
    this.written.add(name);
    await this.writeEntry(name, size, content);
    return true;
  }

  /**
   * Appends a blob whose `size` bytes the sink was given ahead of their
   * place (a layer sent while it was compressed, before its digest was
   * known): its header goes into the stream now; once the sink has taken
   * everything before, `place` has the sink put those bytes here; then the
   * padding. Resolves once placed. A blob already in the archive is skipped
   * (`place` is not called).
   */
  async appendPlaced(digest: Digest, size: number, place: () => Promise<void>): Promise<boolean> {
    this.checkOpen();
    const name = blobEntryName(digest);
    if (this.written.has(name)) return false;
    this.written.add(name);
    const pad = padding(size);
    const chunks: Array<Uint8Array | Placed> = [fileHeader(name, size), { place, size }];
    if (pad > 0) chunks.push(Buffer.alloc(pad));
    await this.enqueue(chunks, (offset) => this.entries.push({ name, offset: offset + BLOCK, size }));
    return true;
  }

  /** Keeps a small blob (a config or manifest) to be written after the layers. */
  holdBlob(bytes: Uint8Array): Digest {
    this.checkOpen();
    const digest = sha256Digest(bytes);
    if (!this.held.has(digest)) this.held.set(digest, Buffer.from(bytes));
    return digest;
  }

  /**
   * Writes the rest — held configs, then manifests, then index.json,
   * oci-layout, Docker's manifest.json, the table of contents — and ends the
   * sink. Refuses (before writing any of it) an index that references a
   * blob the archive does not have.
   */
  async finish(index: Uint8Array): Promise<WrittenArchive> {
    this.checkOpen();
    this.finishing = true;
    const { images, tops } = await this.describe(index);
    const metadataOffset = this.position;
    // Configs and platform manifests first, then what index.json lists (manifests, image indexes).
    const held = [...this.held.keys()].sort((a, b) => Number(tops.has(a)) - Number(tops.has(b)));
    const writes: Array<Promise<void>> = [];
    for (const digest of held) {
      const name = blobEntryName(digest);
      if (this.written.has(name)) continue;
      this.written.add(name);
      writes.push(this.writeEntry(name, this.held.get(digest)!.length, [this.held.get(digest)!]));
    }
    const layout = Buffer.from(OCI_LAYOUT_CONTENT);
    const docker = dockerManifest(images);
    writes.push(this.writeEntry(INDEX_ENTRY, index.length, [index]), this.writeEntry(OCI_LAYOUT_ENTRY, layout.length, [layout]));
    writes.push(this.writeEntry(DOCKER_MANIFEST_FILE, docker.length, [docker]));
    await Promise.all(writes);
    const toc = serializeToc({ metadataOffset, entries: this.entries });
    await this.enqueue([fileHeader(TOC_NAME, toc.length), toc, Buffer.alloc(2 * BLOCK)]);
    this.push(undefined);
    await this.flowing;
    return { size: this.position, entries: [...this.entries], metadataOffset };
  }

  /**
   * Checks that the archive has every blob the index references, and lists
   * the images for Docker's manifest.json: each manifest the index lists,
   * and for an image index the platform that takes its tags (linux/amd64
   * when held, else the first held: Docker's classic store reads only
   * manifest.json, which has no platforms) with the other platforms untagged.
   */
  private async describe(index: Uint8Array): Promise<{ images: DockerManifestImage[]; tops: Set<Digest> }> {
    const missing = (digest: Digest): BlobMissingError =>
      new BlobMissingError(`The bundle's index references blob ${digest}, which was never written to the archive.`, {
        hint: 'This is a bug in the export flow: the index was written before its blobs. Please report it.',
        details: { digest },
      });
    const held = (digest: Digest): Promise<Buffer | undefined> => Promise.resolve(this.held.get(digest));
    for (const digest of await referencedBlobs(index, held)) if (!this.has(digest)) throw missing(digest);
    const images: DockerManifestImage[] = [];
    const tops = new Set<Digest>();
    const imageOf = (manifestBytes: Buffer, tags: readonly string[]): DockerManifestImage => {
      const manifest = parseManifest(manifestBytes);
      return { config: manifest.config.digest, layers: manifest.layers.map((l) => l.digest), tags };
    };
    for (const entry of parseIndex(index).images) {
      tops.add(entry.manifest.digest);
      const bytes = this.held.get(entry.manifest.digest);
      if (bytes === undefined) throw missing(entry.manifest.digest);
      if (!INDEX_MEDIA_TYPES.has(entry.manifest.mediaType)) {
        images.push(imageOf(bytes, entry.tags));
        continue;
      }
      const platforms = parseImagePlatforms(bytes).platforms.filter((p) => this.held.has(p.digest));
      const tagged = platforms.find((p) => platformName(p.platform) === 'linux/amd64') ?? platforms[0];
      for (const platform of platforms) images.push(imageOf(this.held.get(platform.digest)!, platform === tagged ? entry.tags : []));
    }
    return { images, tops };
  }

  /** Queues one entry (header, content checked against `size`, padding); resolves once the sink has taken it. */
  private writeEntry(name: string, size: number, content: Readable | AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
    async function* entry(): AsyncGenerator<Uint8Array> {
      yield fileHeader(name, size);
      let count = 0;
      for await (const chunk of content as AsyncIterable<Uint8Array>) {
        count += chunk.length;
        if (count > size) throw new RangeError(`archive entry ${name} is longer than its ${size} bytes`);
        yield chunk;
      }
      if (count !== size) throw new RangeError(`archive entry ${name} has ${count} of its ${size} bytes`);
      const pad = padding(size);
      if (pad > 0) yield Buffer.alloc(pad);
    }
    return this.enqueue(entry(), (offset) => this.entries.push({ name, offset: offset + BLOCK, size }));
  }

  private enqueue(chunks: Piece['chunks'], onStart?: (offset: number) => void): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.push({ chunks, onStart, resolve, reject }));
  }

  private push(piece: Piece | undefined): void {
    this.queue.push(piece);
    this.wake?.();
  }

  /** The archive's bytes, piece after piece as they are queued; pulled by the pipeline as the sink takes them. */
  private async *bytes(): AsyncGenerator<Uint8Array> {
    for (;;) {
      while (this.queue.length === 0) await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
      const piece = this.queue.shift();
      if (piece === undefined) return;
      this.current = piece;
      try {
        piece.onStart?.(this.position);
        for await (const chunk of piece.chunks) {
          if (chunk instanceof Uint8Array) {
            this.position += chunk.length;
            yield chunk;
          } else {
            // The pipeline asks for the next chunk only once the sink (highWaterMark 1) has taken the last: it is at this point.
            await chunk.place();
            this.position += chunk.size;
          }
        }
      } catch (error) {
        this.current = undefined;
        piece.reject(error);
        throw error;
      }
      // Not cleared when the pipeline stops this generator (its sink failed): the failure handler rejects it.
      this.current = undefined;
      piece.resolve();
    }
  }

  private checkOpen(): void {
    if (this.finishing) throw new Error('OciArchiveWriter: the archive is already finished');
    if (this.failure !== undefined) throw this.failure;
  }
}

/** Bytes the sink already has, put in place by `place` when the stream reaches them. */
interface Placed {
  place: () => Promise<void>;
  size: number;
}

interface Piece {
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array | Placed>;
  onStart: ((offset: number) => void) | undefined;
  resolve: () => void;
  reject: (error: unknown) => void;
}
