import { setTimeout as sleep } from 'node:timers/promises';
import { lend, type BorrowedChunks } from '../../../io/borrowed-chunks.ts';
import { pooledGet, type PooledGetResponse } from '../http/pooled-get.ts';
import { describeUrl, header, sendRequest, type HttpResponse } from '../http/request.ts';
import {
  DEFAULT_RETRY,
  TransientFailure,
  backoffDelay,
  isConnectionError,
  isTransientStatus,
  parseRetryAfter,
  withRetries,
  type RetryContext,
  type RetryPolicy,
} from '../http/retry.ts';
import { blobRefused, blobUnavailable, storageErrorCode } from './blob-errors.ts';
import { STORAGE_VERSION } from './block-blob-upload.ts';

export interface BlobProperties {
  size: number;
  /** Every ranged read after the first names this ETag, so a replaced blob is noticed, not mixed in. */
  etag: string;
  contentType: string | undefined;
}

export interface RangedBlobOptions {
  retry?: RetryPolicy | undefined;
  onRetry?: RetryContext['onRetry'];
  /** Fetches a fresh signed URL when storage refuses the current one (403): SAS URLs expire. */
  refreshUrl?: (() => Promise<string>) | undefined;
  /** Called with the bytes of each body chunk received (progress, byte counts). */
  onBytes?: ((bytes: number) => void) | undefined;
}

/**
 * A blob read by byte ranges through its SAS URL: the properties once (HEAD),
 * then any range as borrowed chunks read into reused buffers. A connection that drops mid-range is resumed
 * from the byte reached, with the retry policy's back-off; every request
 * after the first carries If-Match with the blob's ETag, so if the artifact
 * is replaced mid-read the read fails (412) instead of mixing two uploads.
 */
export class RangedBlob {
  private url: string;
  private readonly options: RangedBlobOptions;
  private readonly retry: RetryPolicy;
  private known: BlobProperties | undefined;
  private refreshed = false;

  constructor(signedUrl: string, options: RangedBlobOptions = {}) {
    this.url = signedUrl;
    this.options = options;
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  /** Size, ETag and content type (one HEAD request, then remembered). */
  async properties(): Promise<BlobProperties> {
    if (this.known !== undefined) return this.known;
    const action = 'reading the artifact\'s properties';
    this.known = await this.attempts(action, async () => {
      const response = await this.request('HEAD', action, {});
      response.body.resume();
      const size = Number(header(response, 'content-length'));
      const etag = header(response, 'etag');
      if (!Number.isSafeInteger(size) || etag === undefined) throw new TransientFailure('HEAD answered without Content-Length or ETag');
      return { size, etag, contentType: header(response, 'content-type') };
    });
    return this.known;
  }

  /** Bytes [start, end) whole, for small ranges (the archive's tail). */
  async bytes(start: number, end: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.chunks(start, end)) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
  }

  /**
   * Bytes [start, end), borrowed: each chunk is valid until the next is
   * asked for (the download runs through a few reused buffers). A dropped
   * connection or a transient answer is retried from the byte reached.
   */
  async *chunks(start: number, end: number): BorrowedChunks {
    const { etag, size } = await this.properties();
    if (start < 0 || end > size || start > end) throw new RangeError(`range [${start}, ${end}) is outside the blob's ${size} bytes`);
    let at = start;
    let failures = 0;
    const action = `reading bytes ${start}-${end - 1} of the artifact`;
    while (at < end) {
      try {
        const response = await this.rangeGet(action, at, end, etag, size);
        try {
          for await (const chunk of response.body) {
            const take = Math.min(chunk.length, end - at);
            if (take <= 0) break;
            at += take;
            failures = 0;
            this.options.onBytes?.(take);
            yield take === chunk.length ? chunk : lend(chunk.subarray(0, take));
          }
        } finally {
          response.close();
        }
        if (at < end) throw new TransientFailure(`the connection ended at byte ${at} of the range ending at ${end}`);
      } catch (error) {
        const transient =
          error instanceof TransientFailure ? error : isConnectionError(error) ? new TransientFailure(`the connection failed at byte ${at}: ${(error as Error).message}`, { cause: error }) : undefined;
        if (transient === undefined) throw error;
        failures++;
        if (failures >= this.retry.maxAttempts) throw blobUnavailable(action, this.retry, transient);
        const delay = backoffDelay(this.retry, failures, transient.retryAfterMs);
        this.options.onRetry?.(transient, failures, delay);
        await sleep(delay);
      }
    }
  }

  /** One ranged GET, read into pooled buffers; transient answers throw TransientFailure, refusals a typed error. */
  private async rangeGet(action: string, at: number, end: number, etag: string, size: number): Promise<PooledGetResponse> {
    for (;;) {
      const url = new URL(this.url);
      const response = await pooledGet(url, { 'x-ms-version': STORAGE_VERSION, range: `bytes=${at}-${end - 1}`, 'if-match': etag });
      const contentRange = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
      if ((response.status === 206 && Number(contentRange?.[1]) === at) || (response.status === 200 && at === 0 && end === size)) return response;
      let text = '';
      for await (const chunk of response.body) if (text.length < 4096) text += chunk.toString('utf8');
      const code = storageErrorCode(response.headers.get('x-ms-error-code'), text);
      if (response.status >= 200 && response.status < 300) throw new TransientFailure(`GET answered ${response.status} (${response.headers.get('content-range') ?? 'no Content-Range'}) to a range request from byte ${at}`);
      if (isTransientStatus(response.status)) {
        throw new TransientFailure(`${response.status}${code === '' ? '' : ` ${code}`} from ${describeUrl(url)}`, {
          status: response.status,
          retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
        });
      }
      if (response.status === 403 && this.options.refreshUrl !== undefined && !this.refreshed) {
        this.refreshed = true;
        this.url = await this.options.refreshUrl();
        continue;
      }
      throw blobRefused(action, response.status, code);
    }
  }

  /** One HEAD; transient answers throw TransientFailure, refusals a typed error. */
  private async request(method: 'HEAD', action: string, headers: Record<string, string>): Promise<HttpResponse> {
    for (;;) {
      const url = new URL(this.url);
      const response = await sendRequest({ method, url, headers: { 'x-ms-version': STORAGE_VERSION, ...headers } });
      if (response.status >= 200 && response.status < 300) return response;
      const code = storageErrorCode(header(response, 'x-ms-error-code'), '');
      response.body.resume();
      if (isTransientStatus(response.status)) {
        throw new TransientFailure(`${response.status}${code === '' ? '' : ` ${code}`} from ${describeUrl(url)}`, {
          status: response.status,
          retryAfterMs: parseRetryAfter(header(response, 'retry-after')),
        });
      }
      if (response.status === 403 && this.options.refreshUrl !== undefined && !this.refreshed) {
        this.refreshed = true;
        this.url = await this.options.refreshUrl();
        continue;
      }
      throw blobRefused(action, response.status, code);
    }
  }

  private async attempts<T>(action: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await withRetries(this.retry, operation, { onRetry: this.options.onRetry });
    } catch (error) {
      if (error instanceof TransientFailure) throw blobUnavailable(action, this.retry, error);
      throw error;
    }
  }
}
