import { Transform, type TransformCallback } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A token bucket shared by every connection in one direction of a link:
 * `rate` bytes per second on average, bursts of at most `burst` bytes.
 * Takers go into debt and sleep it off, so concurrent connections share the
 * rate instead of each getting it.
 */
export class TokenBucket {
  private tokens: number;
  private last = performance.now();
  readonly rate: number;
  private readonly burst: number;

  constructor(rate: number, burst = Math.max(64 * 1024, rate / 50)) {
    this.rate = rate;
    this.burst = burst;
    this.tokens = burst;
  }

  async take(bytes: number): Promise<void> {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    this.tokens -= bytes;
    if (this.tokens < 0) await sleep((-this.tokens / this.rate) * 1000);
  }
}

/** Passes bytes through at the bucket's rate (unlimited without one), in slices of at most 64 KiB. */
export class Throttle extends Transform {
  private readonly bucket: TokenBucket | undefined;

  constructor(bucket: TokenBucket | undefined) {
    super();
    this.bucket = bucket;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.bucket === undefined) {
      callback(null, chunk);
      return;
    }
    const bucket = this.bucket;
    void (async () => {
      for (let at = 0; at < chunk.length; at += 64 * 1024) {
        const slice = chunk.subarray(at, at + 64 * 1024);
        await bucket.take(slice.length);
        this.push(slice);
      }
    })().then(() => callback(), callback);
  }
}
