import { Transform, type TransformCallback } from 'node:stream';
import { BlobSizeMismatchError } from '../errors.ts';

/**
 * Passes bytes through, failing as soon as more arrive than `size` and at
 * the end when fewer did: a decompressed layer must be exactly as long as
 * the producer recorded, so a decompression bomb stops at the first excess
 * byte. (Its content is checked by the engine against the config's diff id.)
 */
export class ExactSizeStream extends Transform {
  private count = 0;
  private readonly size: number;
  private readonly label: string;

  constructor(size: number, label: string) {
    super();
    this.size = size;
    this.label = label;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.count += chunk.length;
    callback(this.count > this.size ? this.tooLong() : null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    callback(this.count === this.size ? null : this.tooShort(this.count));
  }

  private tooLong(): BlobSizeMismatchError {
    return wrongSize(this.label, this.size, `more than ${this.size}`);
  }

  private tooShort(count: number): BlobSizeMismatchError {
    return wrongSize(this.label, this.size, String(count));
  }
}

/** The error for a stream of another length than recorded; `found` says what was found. */
export function wrongSize(label: string, size: number, found: string): BlobSizeMismatchError {
  return new BlobSizeMismatchError(`${label} has the wrong size: expected ${size} bytes, found ${found}.`, {
    hint: 'The bundle records another size for this layer than it holds. Export the bundle again.',
    details: { expectedSize: size },
  });
}
