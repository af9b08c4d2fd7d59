import { OciArchiveWriter } from '../../archive/oci-archive/oci-archive-writer.ts';
import { BlockBlobUpload, type BlockBlobUploadOptions, type BlockReader, type BlocksAhead } from './blob-storage/block-blob-upload.ts';
import type { ArtifactServiceClient } from './service/artifact-service-client.ts';

/** The artifact's Content-Type: a tar, so download-artifact (v5+) saves it as it is instead of unzipping it. */
export const ARCHIVE_MIME_TYPE = 'application/x-tar';

export interface ArchiveUploadOptions {
  client: ArtifactServiceClient;
  /** The artifact's name: the bundle's name. */
  name: string;
  /** Days to keep it (the repository's maximum applies); undefined: the repository's default. */
  retentionDays?: number | undefined;
  /** Block size, concurrency, retries of the blob upload. */
  blob?: Omit<BlockBlobUploadOptions, 'contentType'> | undefined;
  now?: Date | undefined;
}

export interface UploadedArtifact {
  name: string;
  id: number;
  size: number;
  /** `sha256:<hex>` of the whole archive, as recorded at finalize. */
  digest: string;
  /** An artifact of this name that was deleted first (a re-run), if any. */
  replacedId: number | undefined;
}

/**
 * One bundle on its way into an artifact as a single-file OCI archive:
 * replaces an artifact of the same name in the run (the service refuses a
 * second one; a re-run must replace it), creates the new one, and streams
 * the archive into it block by block as the export writes it (a layer's
 * blocks even before its place in the archive is known). The artifact
 * becomes visible only at `finish`, after the archive is whole and its block
 * list committed: FinalizeArtifact records its size and sha256.
 */
export class ArchiveUpload {
  /** Write the bundle here: layers as they are ready, then finish with the index. */
  readonly archive: OciArchiveWriter;
  private readonly options: ArchiveUploadOptions;
  private readonly blob: BlockBlobUpload;
  private readonly replacedId: number | undefined;

  private constructor(options: ArchiveUploadOptions, blob: BlockBlobUpload, replacedId: number | undefined) {
    this.options = options;
    this.blob = blob;
    this.archive = new OciArchiveWriter(blob);
    this.replacedId = replacedId;
  }

  static async start(options: ArchiveUploadOptions): Promise<ArchiveUpload> {
    const { client, name } = options;
    let replacedId: number | undefined;
    for (const existing of await client.listArtifacts({ name })) {
      replacedId = await client.deleteArtifact(existing);
    }
    const expiresAt =
      options.retentionDays === undefined || options.retentionDays <= 0
        ? undefined
        : new Date((options.now ?? new Date()).getTime() + options.retentionDays * 24 * 3600 * 1000);
    const signedUrl = await client.createArtifact({ name, mimeType: ARCHIVE_MIME_TYPE, expiresAt });
    const blob = new BlockBlobUpload(signedUrl, { ...options.blob, contentType: ARCHIVE_MIME_TYPE });
    return new ArchiveUpload(options, blob, replacedId);
  }

  /** Bytes of archive handed to the upload so far. */
  get bytes(): number {
    return this.blob.bytes;
  }

  /** Sends bytes of the archive ahead of their place (a layer as it is compressed); see BlockBlobUpload.sendAhead. */
  sendAhead(read: BlockReader): Promise<BlocksAhead> {
    return this.blob.sendAhead(read);
  }

  /** Puts bytes sent ahead at the archive's current end; `content` is them again, for the sha256. */
  place(ahead: BlocksAhead, content: AsyncIterable<Uint8Array>): Promise<void> {
    return this.blob.place(ahead, content);
  }

  /** Writes the archive's tail, waits for every block and the block list, then finalizes the artifact. */
  async finish(index: Uint8Array): Promise<UploadedArtifact> {
    await this.archive.finish(index);
    const { size, sha256 } = this.blob.result;
    const id = await this.options.client.finalizeArtifact({ name: this.options.name, size, sha256 });
    return { name: this.options.name, id, size, digest: `sha256:${sha256}`, replacedId: this.replacedId };
  }

  /** Stops the upload; what was sent stays uncommitted and no artifact appears. */
  abort(error?: Error): void {
    this.blob.destroy(error);
  }
}
