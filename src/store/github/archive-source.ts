import { blobEntryName } from '../../archive/oci-archive/docker-manifest.ts';
import type { OciArchiveReader } from '../../archive/oci-archive/oci-archive-reader.ts';
import { INDEX_ENTRY } from '../../archive/oci-archive/oci-archive-writer.ts';
import { MAX_INDEX_DEPTH, nestsDeeperThan } from '../../bundle/json-depth.ts';
import type { Digest } from '../../digest/digest.ts';
import { BlobMissingError, BundleNotFoundError, LimitExceededError } from '../../errors.ts';
import type { BorrowedChunks } from '../../io/borrowed-chunks.ts';
import { MAX_INDEX_BYTES } from '../layout/layout-source.ts';
import type { BundleSource } from '../store.ts';

/**
 * A bundle read out of its single-file archive by ranges: the index (and
 * the manifests and configs a load verifies first) from the tail the
 * reader holds, each layer by its own range request when — and only when —
 * it is asked for. Nothing is trusted: callers verify every blob by digest.
 */
export class ArchiveSource implements BundleSource {
  readonly name: string;
  readonly location: string;
  private readonly reader: OciArchiveReader;
  private readonly onClose: (() => Promise<void>) | undefined;

  constructor(name: string, location: string, reader: OciArchiveReader, onClose?: () => Promise<void>) {
    this.name = name;
    this.location = location;
    this.reader = reader;
    this.onClose = onClose;
  }

  async readIndex(): Promise<Uint8Array> {
    if (this.reader.entry(INDEX_ENTRY) === undefined) {
      throw new BundleNotFoundError(`Bundle '${this.name}' (${this.location}) has no index.json.`, {
        hint: 'The artifact is incomplete or was not written by handover export. Re-run the producer job.',
      });
    }
    const entry = this.reader.entry(INDEX_ENTRY)!;
    if (entry.size > MAX_INDEX_BYTES) {
      throw new LimitExceededError(`Bundle '${this.name}' has an index.json of ${entry.size} bytes; at most ${MAX_INDEX_BYTES} are accepted.`, {
        hint: 'A bundle index lists a few images; this one is not a handover bundle or was tampered with.',
      });
    }
    const bytes = await this.reader.entryBytes(INDEX_ENTRY, MAX_INDEX_BYTES);
    if (nestsDeeperThan(bytes, MAX_INDEX_DEPTH)) {
      throw new LimitExceededError(`Bundle '${this.name}' has an index.json nested more than ${MAX_INDEX_DEPTH} levels deep.`, {
        hint: 'A bundle index is a flat list of images; this one is not a handover bundle or was tampered with.',
      });
    }
    return Buffer.from(bytes);
  }

  openBlob(digest: Digest): Promise<BorrowedChunks> {
    const name = blobEntryName(digest);
    if (this.reader.entry(name) === undefined) {
      return Promise.reject(
        new BlobMissingError(`Bundle '${this.name}' lacks blob ${digest}: the archive (${this.location}) has no entry ${name}.`, {
          hint: 'The bundle is incomplete. Re-run the producer job.',
          details: { digest },
        }),
      );
    }
    return Promise.resolve(this.reader.openEntry(name));
  }

  async close(): Promise<void> {
    await this.onClose?.();
  }
}
