import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { bodyText, describeUrl, header, sendRequest, type HttpResponse } from '../http/request.ts';
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
 * then any range as a stream. A connection that drops mid-range is resumed
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
    for await (const chunk of this.chunks(start, end)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  /** Bytes [start, end) as a stream that resumes by range after a dropped connection. */
  stream(start: number, end: number): Readable {
    return Readable.from(this.chunks(start, end), { objectMode: false, highWaterMark: 256 * 1024 });
  }

  private async *chunks(start: number, end: number): AsyncGenerator<Buffer> {
    const { etag, size } = await this.properties();
    if (start < 0 || end > size || start > end) throw new RangeError(`range [${start}, ${end}) is outside the blob's ${size} bytes`);
    let at = start;
    let failures = 0;
    const action = `reading bytes ${start}-${end - 1} of the artifact`;
    while (at < end) {
      try {
        const response = await this.request('GET', action, { range: `bytes=${at}-${end - 1}`, 'if-match': etag });
        if (response.status !== 206 && !(response.status === 200 && at === 0 && end === size)) {
          response.body.destroy();
          throw new TransientFailure(`GET answered ${response.status} to a range request`, { status: response.status });
        }
        for await (const chunk of response.body as AsyncIterable<Buffer>) {
          const take = Math.min(chunk.length, end - at);
          if (take <= 0) break;
          at += take;
          failures = 0;
          this.options.onBytes?.(take);
          yield take === chunk.length ? chunk : chunk.subarray(0, take);
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

  /** One request; transient answers throw TransientFailure, refusals a typed error. */
  private async request(method: 'GET' | 'HEAD', action: string, headers: Record<string, string>): Promise<HttpResponse> {
    for (;;) {
      const url = new URL(this.url);
      const response = await sendRequest({ method, url, headers: { 'x-ms-version': STORAGE_VERSION, ...headers } });
      if (response.status >= 200 && response.status < 300) return response;
      const code = storageErrorCode(header(response, 'x-ms-error-code'), method === 'HEAD' ? '' : await bodyText(response));
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
