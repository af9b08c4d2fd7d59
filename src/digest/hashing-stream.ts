import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { BlobDigestMismatchError, BlobSizeMismatchError } from '../errors.ts';
import type { Digest } from './digest.ts';

export interface ExpectedBlob {
  digest: Digest;
  size: number;
  /** Names the blob in error messages, e.g. "layer 2 of charon:local". */
  label?: string;
}

/**
 * Passes bytes through unchanged while hashing and counting them. With an
 * expectation it fails as soon as more bytes arrive than recorded, and at the
 * end when the size or digest differ, so nothing downstream can take an
 * altered or truncated blob for good.
 */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;
  private result: Digest | undefined;

  private readonly expected: ExpectedBlob | undefined;

  constructor(expected?: ExpectedBlob) {
    super();
    this.expected = expected;
  }

  get bytes(): number {
    return this.count;
  }

  /** The digest of everything that passed; available once the stream has ended. */
  get digest(): Digest {
    if (this.result === undefined) throw new Error('HashingStream.digest read before the stream ended');
    return this.result;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.count += chunk.length;
    if (this.expected !== undefined && this.count > this.expected.size) {
      callback(this.sizeError());
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.result = `sha256:${this.hash.digest('hex')}`;
    const expected = this.expected;
    if (expected === undefined) {
      callback();
      return;
    }
    if (this.count !== expected.size) {
      callback(this.sizeError());
      return;
    }
    if (this.result !== expected.digest) {
      callback(digestMismatch(expected, this.result));
      return;
    }
    callback();
  }

  private sizeError(): BlobSizeMismatchError {
    const expected = this.expected!;
    return sizeMismatch(expected, this.count > expected.size ? `more than ${expected.size}` : `${this.count}`);
  }
}

/** The error for a blob whose content hashes to another digest than recorded. */
export function digestMismatch(expected: ExpectedBlob, actual: Digest): BlobDigestMismatchError {
  return new BlobDigestMismatchError(`Blob ${expected.label ?? expected.digest} was altered: expected digest ${expected.digest}, found ${actual}.`, {
    hint: 'The bundle in the store is not what the producer wrote. Export it again; if it recurs, the store is being tampered with.',
    details: { expected: expected.digest, actual },
  });
}

/** The error for a blob of another size than recorded; `found` says what was found. */
export function sizeMismatch(expected: ExpectedBlob, found: string): BlobSizeMismatchError {
  return new BlobSizeMismatchError(`Blob ${expected.label ?? expected.digest} has the wrong size: expected ${expected.size} bytes, found ${found}.`, {
    hint: 'The blob was truncated or replaced after export. Export the bundle again.',
    details: { digest: expected.digest, expectedSize: expected.size },
  });
}
