import type { Readable } from 'node:stream';
import type { BlobWriteOptions, BundleWriter, PublishedBundle, StoredBlob } from '../store.ts';
import type { BlobDirectory } from './blob-directory.ts';

/** How a store makes a bundle written to a blob directory visible, or drops it. */
export interface LayoutPublisher {
  publish(index: Uint8Array): Promise<PublishedBundle>;
  discard(): Promise<void>;
}

/**
 * A bundle written into a blob directory: the local store's own, or a
 * staging directory that is uploaded on publish.
 */
export class LayoutBundleWriter implements BundleWriter {
  private readonly blobs: BlobDirectory;
  private readonly publisher: LayoutPublisher;

  constructor(blobs: BlobDirectory, publisher: LayoutPublisher) {
    this.blobs = blobs;
    this.publisher = publisher;
  }

  async writeBlob(source: Readable, options?: BlobWriteOptions): Promise<StoredBlob> {
    return await this.blobs.write(source, options);
  }

  async writeBlobWith(fill: (path: string) => Promise<void>): Promise<StoredBlob> {
    return await this.blobs.writeWith(fill);
  }

  async putBlob(bytes: Uint8Array): Promise<StoredBlob> {
    return await this.blobs.put(bytes);
  }

  async publish(index: Uint8Array): Promise<PublishedBundle> {
    return await this.publisher.publish(index);
  }

  async discard(): Promise<void> {
    await this.publisher.discard();
  }
}
