import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Digest } from '../digest/digest.ts';
import { ByteCounter } from '../io/byte-counter.ts';
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
  private readonly counters: ByteCounter[] = [];
  private indexBytes = 0;
  private fileBytes = 0;

  constructor(inner: Store) {
    this.inner = inner;
    this.kind = inner.kind;
    this.location = inner.location;
  }

  /** Bytes read from the store so far. */
  get bytesRead(): number {
    return this.counters.reduce((sum, c) => sum + c.bytes, this.indexBytes + this.fileBytes);
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
      openBlob: async (digest: Digest): Promise<Readable> => {
        const counter = new ByteCounter();
        this.counters.push(counter);
        return (await source.openBlob(digest)).compose(counter) as Readable;
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
