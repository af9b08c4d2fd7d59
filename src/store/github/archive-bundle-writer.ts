import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sha256Digest, type Digest } from '../../digest/digest.ts';
import { HashingStream } from '../../digest/hashing-stream.ts';
import { storeIOError } from '../../errors.ts';
import { fileChunks } from '../../io/file-chunks.ts';
import { GrowingFileReader } from '../../io/growing-file.ts';
import { temporaryName } from '../layout/blob-directory.ts';
import type { BlobWriteOptions, BundleWriter, PublishedBundle, StoredBlob } from '../store.ts';
import type { OciArchiveWriter } from '../../archive/oci-archive/oci-archive-writer.ts';
import type { BlockReader, BlocksAhead } from './blob-storage/block-blob-upload.ts';
import type { UploadedArtifact } from './archive-upload.ts';

/** Reads a staged file as it grows, hashing what it reads; failing to write or read it is the store's failure. */
function hashingReader(file: GrowingFileReader, hash: Hash, staging: string): BlockReader {
  return async (into, offset, length) => {
    let count: number;
    try {
      count = await file.read(into, offset, length);
    } catch (error) {
      throw storeIOError('staging a blob in', staging, error);
    }
    hash.update(into.subarray(offset, offset + count));
    return count;
  };
}

/** Where the archive goes: an artifact upload (ArchiveUpload), or anything shaped like it. */
export interface ArchiveSink {
  readonly archive: OciArchiveWriter;
  /** Bytes handed on so far. */
  readonly bytes: number;
  /** Sends bytes ahead of their place in the archive, as `read` gives them. */
  sendAhead(read: BlockReader): Promise<BlocksAhead>;
  /** Puts bytes sent ahead at the archive's current end; `content` is them again, in order (for the archive's hash). */
  place(ahead: BlocksAhead, content: AsyncIterable<Uint8Array>): Promise<void>;
  /** Writes the archive's tail and makes it visible. */
  finish(index: Uint8Array): Promise<UploadedArtifact>;
  /** Stops; nothing becomes visible. */
  abort(error?: Error): void;
}

/**
 * Bytes of whole compressed layers staged on disk, waiting for their place
 * in the archive (their blocks mostly sent already, the file still to be
 * read again for the archive's hash), from which the next layer waits
 * before it is compressed. A bound
 * of a few layers made the upload idle while the next layer compressed
 * (measured: 1.3 s of a 13.6 s export of an 800 MB image); a byte bound
 * keeps the compressor ahead and still caps the disk a huge image takes.
 */
export const DEFAULT_MAX_STAGED_BYTES = 1024 * 1024 * 1024;

export interface ArchiveBundleWriterOptions {
  /** A directory of its own for staged blobs; removed by discard. */
  staging: string;
  /** Staged bytes not yet in the archive from which a new blob waits before it is staged (default 1 GiB). */
  maxStagedBytes?: number | undefined;
  /** Describes the published artifact (location and details). */
  describe: (uploaded: UploadedArtifact, uploadMs: number) => Pick<PublishedBundle, 'location' | 'details'>;
}

/**
 * A bundle streamed into an artifact as it is written. A layer the
 * compressor writes to a file is uploaded while it is written: its blocks
 * are sent ahead, read from the growing file (and hashed), before its
 * digest — and so its tar header — is known. Once the compressor is done,
 * the layer takes its place in the archive, in the order layers complete:
 * its header goes into the archive's stream and its blocks follow it in
 * the block list; the file is read again (from the page cache) for the
 * archive's sha256, in order, then removed. A blob whose digest is known
 * before its bytes (a layer passed through) streams straight in.
 * Configs and manifests are held in memory and written by publish, which
 * finishes the archive, commits the block list and finalizes the artifact:
 * only then does it exist. discard stops the upload (nothing is committed,
 * so nothing appears) and removes what was staged.
 */
export class ArchiveBundleWriter implements BundleWriter {
  private readonly upload: ArchiveSink;
  private readonly staging: string;
  private readonly maxStagedBytes: number;
  private readonly describe: ArchiveBundleWriterOptions['describe'];
  private readonly started = performance.now();
  /** Bytes of staged blobs not yet wholly in the archive; blobs waiting for room. */
  private stagedBytes = 0;
  private readonly waiting: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  private failure: Error | undefined;
  private published = false;

  constructor(upload: ArchiveSink, options: ArchiveBundleWriterOptions) {
    this.upload = upload;
    this.staging = options.staging;
    this.maxStagedBytes = Math.max(1, options.maxStagedBytes ?? DEFAULT_MAX_STAGED_BYTES);
    this.describe = options.describe;
  }

  async writeBlob(source: Readable, options: BlobWriteOptions = {}): Promise<StoredBlob> {
    const { expected } = options;
    if (expected !== undefined) {
      if (this.upload.archive.has(expected.digest)) {
        source.destroy();
        return { digest: expected.digest, size: expected.size, written: false };
      }
      // The header can be written before the bytes: they stream straight in, checked on the way.
      const checked = source.compose(new HashingStream(expected)) as Readable;
      await this.guard(this.upload.archive.appendBlob(expected.digest, expected.size, checked));
      return { digest: expected.digest, size: expected.size, written: true };
    }
    const { signal } = options;
    return await this.staged1(async (path) => {
      await pipeline(source, createWriteStream(path, { flags: 'wx' }), signal === undefined ? {} : { signal });
    });
  }

  async writeBlobWith(fill: (path: string) => Promise<void>): Promise<StoredBlob> {
    return await this.staged1(fill);
  }

  putBlob(bytes: Uint8Array): Promise<StoredBlob> {
    const had = this.upload.archive.has(sha256Digest(bytes));
    const digest = this.upload.archive.holdBlob(bytes);
    return Promise.resolve({ digest, size: bytes.length, written: !had });
  }

  async publish(index: Uint8Array): Promise<PublishedBundle> {
    if (this.failure !== undefined) throw this.failure;
    const uploaded = await this.guard(this.upload.finish(index));
    this.published = true;
    await rm(this.staging, { recursive: true, force: true });
    return { name: uploaded.name, digest: sha256Digest(index), ...this.describe(uploaded, Math.round(performance.now() - this.started)) };
  }

  async discard(): Promise<void> {
    if (!this.published) this.fail(new Error('the export stopped before the bundle was published'));
    await rm(this.staging, { recursive: true, force: true });
  }

  /** Bytes of archive handed to the upload so far. */
  get bytes(): number {
    return this.upload.bytes;
  }

  private stagingReady: Promise<void> | undefined;

  /**
   * Stages one blob in a file of its own once the staged bytes are below
   * the bound, sending its blocks ahead as `fill` writes it; then puts it
   * in its place in the archive and removes the file. The file counts
   * towards the bound from when it is whole until it is removed. Resolves
   * once the blob is in place. Settles only once `fill` has: a failed
   * upload leaves the compressor to finish (or to stop on the export's
   * signal) before the file is removed.
   */
  private async staged1(fill: (path: string) => Promise<void>): Promise<StoredBlob> {
    await this.room();
    const path = join(this.staging, temporaryName('blob'));
    let counted = 0;
    let filled: Promise<void> | undefined;
    let file: GrowingFileReader | undefined;
    try {
      try {
        this.stagingReady ??= mkdir(this.staging, { recursive: true }).then(() => undefined);
        await this.stagingReady;
      } catch (error) {
        throw storeIOError('staging a blob in', this.staging, error);
      }
      filled = fill(path).then(async () => {
        counted = (await stat(path)).size;
        this.stagedBytes += counted;
      });
      file = new GrowingFileReader(path, filled);
      const hash = createHash('sha256');
      const ahead = await this.guard(this.upload.sendAhead(hashingReader(file, hash, this.staging)));
      const digest: Digest = `sha256:${hash.digest('hex')}`;
      const size = ahead.bytes;
      if (this.upload.archive.has(digest)) return { digest, size, written: false };
      const placed = this.upload.archive.appendPlaced(digest, size, () => this.upload.place(ahead, fileChunks(path, { bufferSize: 1024 * 1024 })));
      return { digest, size, written: await this.guard(placed) };
    } finally {
      await filled?.catch(() => undefined);
      await file?.close();
      await rm(path, { force: true });
      this.stagedBytes -= counted;
      if (counted > 0) this.wakeWaiting();
    }
  }

  private async room(): Promise<void> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      if (this.stagedBytes < this.maxStagedBytes) return;
      await new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    }
  }

  private wakeWaiting(): void {
    for (const waiter of this.waiting.splice(0)) waiter.resolve();
  }

  /** The first failure stops the upload and every blob waiting for its turn. */
  private async guard<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      this.fail(error);
      // What stopped the upload, rather than what it made fail after (a block refused, not the layers waiting on it).
      throw this.failure ?? error;
    }
  }

  private fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = error instanceof Error ? error : new Error(String(error));
    this.upload.abort(this.failure);
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
  }
}
