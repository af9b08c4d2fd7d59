import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { lstat, mkdir, open, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { digestHex, sha256Digest, type Digest } from '../../digest/digest.ts';
import { hashFile } from '../../digest/hash-file.ts';
import { HashingStream } from '../../digest/hashing-stream.ts';
import { storeIOError } from '../../errors.ts';
import type { BlobWriteOptions, StoredBlob } from '../store.ts';

export const BLOBS_DIR = join('blobs', 'sha256');

/** The path of a blob under a layout or store root. The digest's form keeps it inside. */
export function blobPath(root: string, digest: Digest): string {
  return join(root, BLOBS_DIR, digestHex(digest));
}

/** Tells this host's writers from those of other hosts sharing a store (pids mean nothing across hosts). */
const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/**
 * A unique temporary name that records its writer (host and pid), so a later
 * writer can tell an abandoned temporary (its writer died) from a live one.
 */
export function temporaryName(prefix: string): string {
  return `${prefix}-${HOST_TAG}-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/** The writer a temporaryName records: its pid, and whether it ran on this host. */
export function temporaryWriter(name: string): { pid: number; thisHost: boolean } | undefined {
  const match = /-([0-9a-f]{8})-([1-9][0-9]{0,9})-[0-9a-f]{12}$/.exec(name);
  if (match === null) return undefined;
  return { pid: Number(match[2]), thisHost: match[1] === HOST_TAG };
}

/** Whether anything (a file, a link, a directory) is at a path. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * A new file that fails with typed store errors (STORE_FULL, STORE_IO). The
 * error a sink raises is the one a pipeline hands every stream before it, so
 * an export whose disk fills up says so wherever the failure surfaces.
 */
class BlobFile extends Writable {
  private readonly path: string;
  private readonly root: string;
  private handle: FileHandle | undefined;

  constructor(path: string, root: string) {
    super({ highWaterMark: 1024 * 1024 });
    this.path = path;
    this.root = root;
  }

  private typed(error: unknown): Error {
    return storeIOError('writing a blob to', this.root, error);
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.path, 'wx').then((handle) => {
      this.handle = handle;
      callback();
    }, (error: unknown) => callback(this.typed(error)));
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.writeAll(chunk).then(() => callback(), (error: unknown) => callback(this.typed(error)));
  }

  private async writeAll(chunk: Buffer): Promise<void> {
    for (let offset = 0; offset < chunk.length; ) {
      const { bytesWritten } = await this.handle!.write(chunk, offset);
      offset += bytesWritten;
    }
  }

  override _final(callback: (error?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    (handle === undefined ? Promise.resolve() : handle.close()).then(() => callback(), (error: unknown) => callback(this.typed(error)));
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    (handle === undefined ? Promise.resolve() : handle.close()).then(() => callback(error), () => callback(error));
  }
}

/**
 * A content-addressed directory of blobs (`blobs/sha256/<hex>` under root).
 * Blobs are written to a temporary file on the same file system, hashed on
 * the way, and renamed into place: a blob path only ever holds whole content.
 */
export class BlobDirectory {
  readonly root: string;
  private readonly tmpDir: string;

  constructor(root: string, tmpDir: string) {
    this.root = root;
    this.tmpDir = tmpDir;
  }

  path(digest: Digest): string {
    return blobPath(this.root, digest);
  }

  async ensure(): Promise<void> {
    try {
      await mkdir(join(this.root, BLOBS_DIR), { recursive: true });
      await mkdir(this.tmpDir, { recursive: true });
    } catch (error) {
      throw storeIOError('creating', this.root, error);
    }
  }

  async has(digest: Digest): Promise<boolean> {
    try {
      return await pathExists(this.path(digest));
    } catch (error) {
      throw storeIOError('reading', this.path(digest), error);
    }
  }

  async write(source: Readable, options: BlobWriteOptions = {}): Promise<StoredBlob> {
    const tmp = join(this.tmpDir, temporaryName('blob'));
    const hashing = new HashingStream(options.expected);
    try {
      await pipeline(source, hashing, new BlobFile(tmp, this.root), { signal: options.signal });
      return await this.settle(tmp, hashing.digest, hashing.bytes);
    } catch (error) {
      await rm(tmp, { force: true });
      throw storeIOError('writing a blob to', this.root, error);
    }
  }

  /**
   * Lets `fill` write a new file at a temporary path (a child process may
   * write it directly), then hashes what it wrote and moves it into place.
   */
  async writeWith(fill: (path: string) => Promise<void>): Promise<StoredBlob> {
    const tmp = join(this.tmpDir, temporaryName('blob'));
    try {
      await fill(tmp);
      const { digest, size } = await hashFile(tmp);
      return await this.settle(tmp, digest, size);
    } catch (error) {
      await rm(tmp, { force: true });
      throw storeIOError('writing a blob to', this.root, error);
    }
  }

  async put(bytes: Uint8Array): Promise<StoredBlob> {
    const digest = sha256Digest(bytes);
    if (await this.has(digest)) return { digest, size: bytes.length, written: false };
    const tmp = join(this.tmpDir, temporaryName('blob'));
    try {
      await writeFile(tmp, bytes, { flag: 'wx' });
      return await this.settle(tmp, digest, bytes.length);
    } catch (error) {
      await rm(tmp, { force: true });
      throw storeIOError('writing a blob to', this.root, error);
    }
  }

  /** Moves a finished temporary file to its digest's path, unless the blob is already there. */
  private async settle(tmp: string, digest: Digest, size: number): Promise<StoredBlob> {
    const target = this.path(digest);
    if (await pathExists(target)) {
      await rm(tmp, { force: true });
      return { digest, size, written: false };
    }
    await rename(tmp, target);
    return { digest, size, written: true };
  }
}
