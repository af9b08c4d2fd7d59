import { Transform, type TransformCallback } from 'node:stream';

/**
 * Re-cuts a byte stream into chunks of exactly `size` bytes (the last may be
 * shorter). Compressors' output depends on how their input is cut, and an
 * engine's stream is cut differently each time; fixed cuts make the same
 * layer compress to the same bytes, so its digest repeats and the store
 * keeps it once.
 */
export class FixedChunks extends Transform {
  private readonly size: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(size: number) {
    super({ readableHighWaterMark: size * 2, writableHighWaterMark: size });
    this.size = size;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let rest = chunk;
    while (this.pendingBytes + rest.length >= this.size) {
      const take = this.size - this.pendingBytes;
      this.pending.push(rest.subarray(0, take));
      this.push(this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.size));
      rest = rest.subarray(take);
      this.pending = [];
      this.pendingBytes = 0;
    }
    if (rest.length > 0) {
      this.pending.push(rest);
      this.pendingBytes += rest.length;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.pendingBytes > 0) this.push(Buffer.concat(this.pending, this.pendingBytes));
    callback();
  }
}
