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
  /** Blocks uploading at once (default 4). Memory held: blockSize × (concurrency + 1), and up to `concurrency` more blocks being filled ahead (sendAhead). */
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
 * Bytes for blocks sent ahead of their place: fills `into` from `offset`
 * with at most `length` bytes and resolves with how many; 0 at the end.
 */
export type BlockReader = (into: Buffer, offset: number, length: number) => Promise<number>;

/** Blocks sent ahead of their place in the blob (see BlockBlobUpload.sendAhead), to be placed once. */
export class BlocksAhead {
  /** Their ids, in the order of their bytes. */
  readonly ids: string[] = [];
  /** Their bytes, in all. */
  bytes = 0;
  placed = false;
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
 *
 * Bytes whose place comes later may be sent ahead of the stream
 * (`sendAhead`: blocks of a layer sent while it is compressed, before its
 * header can be written) and placed when the stream reaches them
 * (`place`): storage keeps blocks in any order and only the committed list
 * orders the blob, so the stream's current block is cut short there and the
 * blocks sent ahead follow it in the list. Block sizes vary accordingly;
 * the sha256 is of the blob in order, the placed bytes read again for it.
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
  /** The committed list to be: the blob's blocks in order. */
  private readonly blockList: string[] = [];
  /** Blocks sent so far, in the list or ahead of it: each block's number and id. */
  private sent = 0;
  private readonly free: Buffer[] = [];
  private made = 0;
  private current: Buffer | undefined;
  private fill = 0;
  private readonly inFlight = new Set<Promise<void>>();
  /** Blocks being filled ahead (each a buffer held), and senders waiting to fill one. */
  private fillingAhead = 0;
  private readonly waitingToFill: Array<() => void> = [];
  private failure: Error | undefined;
  private stopped = false;
  private accepted = 0;
  /** Bytes of the blob in order so far: what the hash has seen. */
  private ordered = 0;
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

  /** Bytes written to the stream or sent ahead so far. */
  get bytes(): number {
    return this.accepted;
  }

  /** Size and sha256 of the committed blob; available once the stream has finished. */
  get result(): UploadedBlob {
    if (this.uploaded === undefined) throw new Error('BlockBlobUpload.result read before the upload finished');
    return this.uploaded;
  }

  /**
   * Sends blocks of bytes whose place in the blob is not known yet, as
   * `read` gives them: full blocks, and a short last one. Shares the stream's
   * bound on blocks in flight; at most `concurrency` blocks are filled ahead
   * at once, however many senders there are, so memory stays
   * blockSize × (2 × concurrency + 1). Resolves once every block is sent
   * (not necessarily stored), with the blocks to `place`; blocks never
   * placed are never committed.
   */
  async sendAhead(read: BlockReader): Promise<BlocksAhead> {
    const ahead = new BlocksAhead();
    for (let ended = false; !ended; ) {
      await this.startFillingAhead();
      try {
        ended = await this.fillAhead(read, ahead);
      } finally {
        this.fillingAhead--;
        this.waitingToFill.shift()?.();
      }
    }
    return ahead;
  }

  /**
   * Places blocks sent ahead at the stream's current end: the bytes written
   * before end the block they are in, and the blocks sent ahead follow.
   * Call it between writes (the stream's writer waits for each write, so
   * between two chunks nothing is pending). `content` is the same bytes
   * again, in order, for the blob's sha256.
   */
  async place(ahead: BlocksAhead, content: AsyncIterable<Uint8Array>): Promise<void> {
    this.checkRunning();
    if (ahead.placed) throw new Error('BlockBlobUpload.place: these blocks are already placed');
    if (this.writableLength > 0) throw new Error('BlockBlobUpload.place called while a write is pending');
    ahead.placed = true;
    if (this.fill > 0) await this.dispatch();
    this.checkRunning();
    this.blockList.push(...ahead.ids);
    let count = 0;
    for await (const chunk of content) {
      count += chunk.length;
      if (count > ahead.bytes) break;
      this.hash.update(chunk);
    }
    if (count !== ahead.bytes) throw new RangeError(`the bytes placed (${count}) are not the ${ahead.bytes} sent ahead`);
    this.ordered += count;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.take(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.finishUpload().then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.stopped = true;
    // Senders still at work (blocks sent ahead, a placing) stop with the reason.
    this.failure ??= error ?? new Error('the upload was stopped');
    callback(error);
  }

  private async startFillingAhead(): Promise<void> {
    while (this.fillingAhead >= this.concurrency && this.failure === undefined) await new Promise<void>((resolve) => this.waitingToFill.push(resolve));
    if (this.failure !== undefined) {
      // Each sender woken on a failure wakes the next, so none is left waiting for a slot no one will free.
      this.waitingToFill.shift()?.();
      throw this.failure;
    }
    this.fillingAhead++;
  }

  /** Fills one block ahead from `read` and sends it; true at the end of what `read` gives. */
  private async fillAhead(read: BlockReader, ahead: BlocksAhead): Promise<boolean> {
    const block = this.buffer();
    let length = 0;
    let ended = false;
    try {
      while (length < this.blockSize && !ended) {
        const count = await read(block, length, this.blockSize - length);
        length += count;
        ended = count === 0;
      }
    } catch (error) {
      this.free.push(block);
      throw error;
    }
    if (length === 0) {
      this.free.push(block);
      return ended;
    }
    this.accepted += length;
    ahead.bytes += length;
    await this.send(block, length, ahead.ids);
    return ended;
  }

  private checkRunning(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.stopped) throw new Error('the upload was stopped');
  }

  private async take(chunk: Buffer): Promise<void> {
    this.hash.update(chunk);
    this.accepted += chunk.length;
    this.ordered += chunk.length;
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

  /** Sends the stream's current block, next in the list. */
  private async dispatch(): Promise<void> {
    const block = this.current!;
    const length = this.fill;
    this.current = undefined;
    this.fill = 0;
    await this.send(block, length, this.blockList);
  }

  /**
   * Sends a block once fewer than `concurrency` are in flight (so at most
   * that many are held by the network, plus one being filled per sender),
   * its id appended to `list`; returns once it is on its way. Its buffer
   * returns to the pool once stored.
   */
  private async send(block: Buffer, length: number, list: string[]): Promise<void> {
    while (this.inFlight.size >= this.concurrency && this.failure === undefined) await Promise.race(this.inFlight);
    if (this.failure !== undefined) {
      this.free.push(block);
      throw this.failure;
    }
    if (this.sent >= MAX_BLOCKS) throw new RangeError(`a block blob holds at most ${MAX_BLOCKS} blocks of ${this.blockSize} bytes`);
    const number = ++this.sent;
    const id = Buffer.from(`${this.idPrefix}-${String(number).padStart(6, '0')}`).toString('base64');
    list.push(id);
    const sending: Promise<void> = this.putBlock(number, id, block.subarray(0, length)).then(
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
  }

  private async finishUpload(): Promise<void> {
    if (this.fill > 0) await this.dispatch();
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
    await this.putBlockList();
    this.uploaded = { size: this.ordered, sha256: this.hash.digest('hex'), blocks: this.blockList.length };
    this.free.length = 0;
  }

  private async putBlock(number: number, id: string, bytes: Buffer): Promise<void> {
    const url = withQuery(this.url, `comp=block&blockid=${encodeURIComponent(id)}`);
    await this.request(`uploading block ${number} (${bytes.length} bytes)`, url, bytes, {});
  }

  private async putBlockList(): Promise<void> {
    const xml = `<?xml version="1.0" encoding="utf-8"?><BlockList>${this.blockList.map((id) => `<Latest>${id}</Latest>`).join('')}</BlockList>`;
    await this.request(`committing the ${this.blockList.length} blocks`, withQuery(this.url, 'comp=blocklist'), Buffer.from(xml), {
      'content-type': 'application/xml; charset=utf-8',
      'x-ms-blob-content-type': this.options.contentType,
    });
  }

  private async request(action: string, url: URL, body: Buffer, headers: Record<string, string>): Promise<void> {
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
