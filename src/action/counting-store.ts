import { stat } from 'node:fs/promises';
import type { Digest } from '../digest/digest.ts';
import type { BorrowedChunk, BorrowedChunks } from '../io/borrowed-chunks.ts';
import type { BundleSource, Store } from '../store/store.ts';

/**
 * A store seen through a meter: counts the bytes of every blob and index read
 * from it, i.e. the bytes as stored (compressed), for the load summary. A
 * blob handed out as a file (for the zstd command to read) counts its size;
 * the file stays available, so a load decompresses it outside this process
 * as the CLI's does.
 */
export class CountingStore implements Store {
  readonly kind: string;
  readonly location: string;
  private readonly inner: Store;
  private blobBytes = 0;
  private indexBytes = 0;
  private fileBytes = 0;

  constructor(inner: Store) {
    this.inner = inner;
    this.kind = inner.kind;
    this.location = inner.location;
  }

  /** Bytes read from the store so far. */
  get bytesRead(): number {
    return this.blobBytes + this.indexBytes + this.fileBytes;
  }

  createBundle(name: string): ReturnType<Store['createBundle']> {
    return this.inner.createBundle(name);
  }

  list(): ReturnType<Store['list']> {
    return this.inner.list();
  }

  async openBundle(name: string): Promise<BundleSource> {
    const source = await this.inner.openBundle(name);
    const counted: BundleSource = {
      name: source.name,
      location: source.location,
      readIndex: async () => {
        const bytes = await source.readIndex();
        this.indexBytes += bytes.length;
        return bytes;
      },
      openBlob: async (digest: Digest): Promise<BorrowedChunks> => {
        const chunks = await source.openBlob(digest);
        const count = (n: number): void => {
          this.blobBytes += n;
        };
        return (async function* (): AsyncGenerator<BorrowedChunk> {
          for await (const chunk of chunks) {
            count(chunk.length);
            yield chunk;
          }
        })();
      },
      close: () => source.close(),
    };
    const blobFile = source.blobFile?.bind(source);
    if (blobFile !== undefined) {
      counted.blobFile = async (digest: Digest): Promise<string> => {
        const path = await blobFile(digest);
        this.fileBytes += (await stat(path)).size;
        return path;
      };
    }
    return counted;
  }
}
