import type { Readable } from 'node:stream';
import type { Digest } from '../digest/digest.ts';
import type { ExpectedBlob } from '../digest/hashing-stream.ts';
import type { BorrowedChunks } from '../io/borrowed-chunks.ts';

/** A blob as the store holds it. */
export interface StoredBlob {
  digest: Digest;
  size: number;
  /** False when the store already held the blob and nothing was written. */
  written: boolean;
}

/** A bundle made visible under its name. */
export interface PublishedBundle {
  name: string;
  /** The digest of the bundle's index.json: what consumers pin with --expect. */
  digest: Digest;
  /** Where the bundle can be found: a directory (an OCI image layout) or an artifact. */
  location: string;
  /** Store-specific facts, e.g. the artifact id. */
  details: Record<string, unknown>;
}

export interface BlobWriteOptions {
  /** When known, the blob must match it (a blob passed through unchanged). */
  expected?: ExpectedBlob;
  signal?: AbortSignal;
}

/**
 * One bundle being written. Blobs go in first; `publish` writes the index
 * last, so a reader sees the whole bundle or nothing.
 */
export interface BundleWriter {
  /**
   * Streams a blob in, hashing it; a blob the store already holds is not
   * written again. With `expected`, a store may send the bytes on before the
   * hash is known (a streaming store), failing the bundle if they differ.
   */
  writeBlob(source: Readable, options?: BlobWriteOptions): Promise<StoredBlob>;
  /**
   * Has `fill` write a new blob file at the path it is given (nothing else is
   * there), then hashes the file and stores it under its digest. `fill` only
   * appends to the file (a compressor writing its output): a store that
   * sends blobs on as they come may read the file while it grows. Such a
   * store may wait before calling `fill` while earlier blobs are still on
   * their way (so its staging disk stays bounded), and resolves once the
   * blob has been handed on.
   */
  writeBlobWith(fill: (path: string) => Promise<void>): Promise<StoredBlob>;
  /** Writes a small blob held in memory (a config or a manifest). */
  putBlob(bytes: Uint8Array): Promise<StoredBlob>;
  /** Publishes the bundle under its name, replacing what was there, atomically. */
  publish(index: Uint8Array): Promise<PublishedBundle>;
  /** Removes whatever was staged and not published. Safe to call after publish. */
  discard(): Promise<void>;
}

/** One bundle being read. */
export interface BundleSource {
  readonly name: string;
  /** Where it was read from, for messages. */
  readonly location: string;
  /** The exact bytes of index.json (its digest is the bundle digest). */
  readIndex(): Promise<Uint8Array>;
  /**
   * The raw bytes of a blob, unverified (callers hash them as they stream),
   * borrowed: each chunk is valid until the next is asked for, so a reader
   * passes it on or copies it. Fails with BlobMissingError (at once, before
   * any byte is read) when the bundle does not hold the blob; nothing is read
   * until the chunks are.
   */
  openBlob(digest: Digest): Promise<BorrowedChunks>;
  /** For a source kept in files: the path of a blob (a regular file inside the bundle), unverified. */
  blobFile?(digest: Digest): Promise<string>;
  /** Releases what reading needed (a downloaded copy, open handles). */
  close(): Promise<void>;
}

export interface BundleListing {
  name: string;
  digest: Digest;
  updatedAt: Date;
  location: string;
}

/** Where bundles live: a local directory, GitHub Actions artifacts, … */
export interface Store {
  /** A short kind, e.g. "local" or "github-artifacts". */
  readonly kind: string;
  /** Where the store is, for messages. */
  readonly location: string;
  createBundle(name: string): Promise<BundleWriter>;
  /** Throws StoreNotFoundError or BundleNotFoundError when there is nothing to open. */
  openBundle(name: string): Promise<BundleSource>;
  list(): Promise<BundleListing[]>;
}
