import { lstat, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../../digest/digest.ts';
import { lend, type BorrowedChunks } from '../../io/borrowed-chunks.ts';
import { fileChunks } from '../../io/file-chunks.ts';
import { BlobMissingError, BundleNotFoundError, LimitExceededError, UnsafePathError, storeIOError } from '../../errors.ts';
import type { BundleSource } from '../store.ts';
import { MAX_INDEX_DEPTH, nestsDeeperThan } from '../../bundle/json-depth.ts';
import { blobPath } from './blob-directory.ts';

export const INDEX_FILE = 'index.json';
export const OCI_LAYOUT_FILE = 'oci-layout';
/** An index larger than this is refused before it is parsed (a bundle holds a handful of images). */
export const MAX_INDEX_BYTES = 4 * 1024 * 1024;

/** Reads a bundle from an OCI image layout directory. */
export class LayoutSource implements BundleSource {
  readonly name: string;
  readonly location: string;
  private readonly onClose: (() => Promise<void>) | undefined;

  constructor(name: string, directory: string, onClose?: () => Promise<void>) {
    this.name = name;
    this.location = directory;
    this.onClose = onClose;
  }

  async readIndex(): Promise<Uint8Array> {
    const path = join(this.location, INDEX_FILE);
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new BundleNotFoundError(`Bundle '${this.name}' has no index.json at ${path}.`, {
          hint: 'The bundle is incomplete or was not written by handover export. Export it again.',
        });
      }
      throw storeIOError('reading', path, error);
    }
    try {
      const { size } = await handle.stat();
      if (size > MAX_INDEX_BYTES) {
        throw new LimitExceededError(`Bundle '${this.name}' has an index.json of ${size} bytes; at most ${MAX_INDEX_BYTES} are accepted.`, {
          hint: 'A bundle index lists a few images; this one is not a handover bundle or was tampered with.',
        });
      }
      const bytes = await handle.readFile();
      if (nestsDeeperThan(bytes, MAX_INDEX_DEPTH)) {
        throw new LimitExceededError(`Bundle '${this.name}' has an index.json nested more than ${MAX_INDEX_DEPTH} levels deep.`, {
          hint: 'A bundle index is a flat list of images; this one is not a handover bundle or was tampered with.',
        });
      }
      return bytes;
    } finally {
      await handle.close();
    }
  }

  async openBlob(digest: Digest): Promise<BorrowedChunks> {
    const path = await this.blobFile(digest);
    const name = this.location;
    return (async function* () {
      try {
        for await (const chunk of fileChunks(path, { bufferSize: 1024 * 1024 })) yield lend(chunk);
      } catch (error) {
        throw storeIOError('reading a blob of', name, error);
      }
    })();
  }

  async blobFile(digest: Digest): Promise<string> {
    const path = blobPath(this.location, digest);
    let stats;
    try {
      stats = await lstat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new BlobMissingError(`Bundle '${this.name}' lacks blob ${digest} (looked for ${path}).`, {
          hint: 'The bundle is incomplete: a blob was deleted or never uploaded. Export it again.',
          details: { digest },
        });
      }
      throw storeIOError('reading', path, error);
    }
    if (!stats.isFile()) {
      throw new UnsafePathError(`Blob ${digest} of bundle '${this.name}' is not a regular file (${path}).`, {
        hint: 'A bundle holds plain files only; a link or device there could read from outside it. Export the bundle again.',
      });
    }
    return path;
  }

  async close(): Promise<void> {
    await this.onClose?.();
  }
}
