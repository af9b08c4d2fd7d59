import { createHash } from 'node:crypto';
import type { BorrowedChunk, BorrowedChunks } from '../io/borrowed-chunks.ts';
import { digestMismatch, sizeMismatch, type ExpectedBlob } from './hashing-stream.ts';

/**
 * Passes borrowed chunks on as they are while hashing and counting them:
 * fails as soon as more bytes arrive than recorded, and before it ends when
 * the size or digest differ, so a consumer that stops at the end has only
 * ever taken a blob that matched. No chunk is copied (HashingStream is the
 * same for Node streams, which must own their chunks).
 */
export async function* verifiedChunks(source: BorrowedChunks, expected: ExpectedBlob): AsyncGenerator<BorrowedChunk> {
  const hash = createHash('sha256');
  let count = 0;
  for await (const chunk of source) {
    count += chunk.length;
    if (count > expected.size) throw sizeMismatch(expected, `more than ${expected.size}`);
    hash.update(chunk);
    yield chunk;
  }
  if (count !== expected.size) throw sizeMismatch(expected, String(count));
  const actual = `sha256:${hash.digest('hex')}` as const;
  if (actual !== expected.digest) throw digestMismatch(expected, actual);
}
