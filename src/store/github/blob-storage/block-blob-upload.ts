import { createHash, randomBytes, type Hash } from 'node:crypto';
import { Writable } from 'node:stream';
import { bodyText, describeUrl, header, sendRequest } from '../http/request.ts';
import { DEFAULT_RETRY, TransientFailure, isTransientStatus, parseRetryAfter, withRetries, type RetryContext, type RetryPolicy } from '../http/retry.ts';
import { blobRefused, blobUnavailable, storageErrorCode } from './blob-errors.ts';

/** The Blob service REST version we speak (Put Block, Put Block List, ranged Get Blob). */
export const STORAGE_VERSION = '2023-11-03';

export interface BlockBlobUploadOptions {
  /** The blob's Content-Type, set when the block list is committed. */
  contentType: string;
  /** Bytes per block (default 4 MiB; Azure allows up to 50,000 blocks). */
  blockSize?: number | undefined;
  /** Blocks uploading at once (default 4). Memory held: blockSize × (concurrency + 1). */
  concurrency?: number | undefined;
  retry?: RetryPolicy | undefined;
  onRetry?: RetryContext['onRetry'];
  /** Called as each block is stored, with the bytes stored so far. */
  onProgress?: ((storedBytes: number) => void) | undefined;
}

export interface UploadedBlob {
  size: number;
  /** Hex sha256 of the whole content, in order: what FinalizeArtifact records. */
  sha256: string;
  blocks: number;
}

export const DEFAULT_BLOCK_SIZE = 4 * 1024 * 1024;
export const DEFAULT_CONCURRENCY = 4;
const MAX_BLOCKS = 50_000;

function withQuery(url: string, query: string): URL {
  return new URL(`${url}${url.includes('?') ? '&' : '?'}${query}`);
}

/**
 * Writes a block blob through its SAS URL as the bytes come: each block is
 * sent with Put Block as soon as it is full (several at once), kept in
 * memory until stored so a dropped connection or a 5xx/429 answer retries
 * just that block, and the blob comes into being with Put Block List when
 * the stream ends. Writes wait while `concurrency` blocks are in flight, so
 * a slow link slows the producer instead of filling memory; each chunk is
 * copied before its write calls back (so the writer may reuse its buffer,
 * and garbage stays flat whatever the size). Until the block
 * list is committed nothing is visible; a failed or destroyed upload leaves
 * only uncommitted blocks, which storage discards.
 */
export class BlockBlobUpload extends Writable {
  private readonly url: string;
  private readonly options: BlockBlobUploadOptions;
  private readonly blockSize: number;
  private readonly concurrency: number;
  private readonly retry: RetryPolicy;
  private readonly hash: Hash = createHash('sha256');
  /** One prefix per upload, so blocks left by another attempt at this blob never mix in. */
  private readonly idPrefix = randomBytes(6).toString('hex');
  private readonly blockIds: string[] = [];
  private readonly free: Buffer[] = [];
  private made = 0;
  private current: Buffer | undefined;
  private fill = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private failure: Error | undefined;
  private stopped = false;
  private accepted = 0;
  private stored = 0;
  private uploaded: UploadedBlob | undefined;

  constructor(signedUrl: string, options: BlockBlobUploadOptions) {
    // Nothing is queued in front of _write: write() asks the writer to wait for every chunk, and
    // each chunk is copied into a block before its callback, so a source may reuse its buffer then.
    super({ highWaterMark: 1 });
    this.url = signedUrl;
    this.options = options;
    this.blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
    this.concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  /** Bytes written to the stream so far. */
  get bytes(): number {
    return this.accepted;
  }

  /** Size and sha256 of the committed blob; available once the stream has finished. */
  get result(): UploadedBlob {
    if (this.uploaded === undefined) throw new Error('BlockBlobUpload.result read before the upload finished');
    return this.uploaded;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.take(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finishUpload().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.stopped = true;
    callback(error);
  }

  private async take(chunk: Buffer): Promise<void> {
    this.hash.update(chunk);
    this.accepted += chunk.length;
    let at = 0;
    while (at < chunk.length) {
      this.current ??= this.buffer();
      const copied = chunk.copy(this.current, this.fill, at);
      this.fill += copied;
      at += copied;
      if (this.fill === this.blockSize) await this.dispatch();
    }
  }

  private buffer(): Buffer {
    const reused = this.free.pop();
    if (reused !== undefined) return reused;
    this.made++;
    return Buffer.allocUnsafe(this.blockSize);
  }

  /** Sends the current block; returns once there is room for another. */
  private async dispatch(): Promise<void> {
    const block = this.current!;
    const length = this.fill;
    this.current = undefined;
    this.fill = 0;
    if (this.blockIds.length >= MAX_BLOCKS) throw new RangeError(`a block blob holds at most ${MAX_BLOCKS} blocks of ${this.blockSize} bytes`);
    const id = Buffer.from(`${this.idPrefix}-${String(this.blockIds.length).padStart(6, '0')}`).toString('base64');
    this.blockIds.push(id);
    const sending: Promise<void> = this.putBlock(id, block.subarray(0, length)).then(
      () => {
        this.inFlight.delete(sending);
        this.free.push(block);
        this.stored += length;
        this.options.onProgress?.(this.stored);
      },
      (error: unknown) => {
        this.inFlight.delete(sending);
        this.failure ??= error instanceof Error ? error : new Error(String(error));
      },
    );
    this.inFlight.add(sending);
    while (this.inFlight.size >= this.concurrency && this.failure === undefined) await Promise.race(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
  }

  private async finishUpload(): Promise<void> {
    if (this.fill > 0) await this.dispatch();
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
    await this.putBlockList();
    this.uploaded = { size: this.accepted, sha256: this.hash.digest('hex'), blocks: this.blockIds.length };
    this.free.length = 0;
  }

  private async putBlock(id: string, bytes: Buffer): Promise<void> {
    const url = withQuery(this.url, `comp=block&blockid=${encodeURIComponent(id)}`);
    await this.send(`uploading block ${this.blockIds.indexOf(id) + 1} (${bytes.length} bytes)`, url, bytes, {});
  }

  private async putBlockList(): Promise<void> {
    const xml = `<?xml version="1.0" encoding="utf-8"?><BlockList>${this.blockIds.map((id) => `<Latest>${id}</Latest>`).join('')}</BlockList>`;
    await this.send(`committing the ${this.blockIds.length} blocks`, withQuery(this.url, 'comp=blocklist'), Buffer.from(xml), {
      'content-type': 'application/xml; charset=utf-8',
      'x-ms-blob-content-type': this.options.contentType,
    });
  }

  private async send(action: string, url: URL, body: Buffer, headers: Record<string, string>): Promise<void> {
    try {
      await withRetries(
        this.retry,
        async () => {
          if (this.stopped) throw new Error('the upload was stopped');
          const response = await sendRequest({ method: 'PUT', url, body, headers: { 'x-ms-version': STORAGE_VERSION, ...headers } });
          const text = await bodyText(response);
          if (response.status === 201 || response.status === 200) return;
          const code = storageErrorCode(header(response, 'x-ms-error-code'), text);
          if (isTransientStatus(response.status)) {
            throw new TransientFailure(`${response.status}${code === '' ? '' : ` ${code}`} from ${describeUrl(url)}`, {
              status: response.status,
              retryAfterMs: parseRetryAfter(header(response, 'retry-after')),
            });
          }
          throw blobRefused(action, response.status, code);
        },
        { onRetry: this.options.onRetry },
      );
    } catch (error) {
      if (error instanceof TransientFailure) throw blobUnavailable(action, this.retry, error);
      throw error;
    }
  }
}
