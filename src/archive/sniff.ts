import { lend, type BorrowedChunk } from '../io/borrowed-chunks.ts';
import { BLOCK, parseHeader } from './tar/tar-header.ts';

export type ContentKind = 'gzip' | 'zstd' | 'json' | 'tar';

/** What a blob holds, from its first bytes. Anything not compressed or JSON is taken for a tar. */
export function sniff(head: Uint8Array): ContentKind {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  // A valid tar header wins: a layer whose first file is named "[x]" or "{x}" is not JSON.
  if (head.length >= BLOCK && parseHeader(Buffer.from(head.subarray(0, BLOCK))) !== undefined) return 'tar';
  for (const byte of head) {
    if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) continue;
    return byte === 0x7b || byte === 0x5b ? 'json' : 'tar';
  }
  return 'tar';
}

/** Reads the first `n` bytes of a chunk stream and gives back a stream of all of it. */
export async function peek(body: AsyncIterator<BorrowedChunk>, n: number): Promise<{ head: Buffer; all: AsyncGenerator<BorrowedChunk> }> {
  const chunks: Buffer[] = [];
  let length = 0;
  let done = false;
  while (length < n) {
    const next = await body.next();
    if (next.done === true) {
      done = true;
      break;
    }
    chunks.push(Buffer.from(next.value));
    length += next.value.length;
  }
  const head = Buffer.concat(chunks);
  async function* all(): AsyncGenerator<BorrowedChunk> {
    if (head.length > 0) yield lend(head);
    if (done) return;
    for (;;) {
      const next = await body.next();
      if (next.done === true) return;
      yield next.value;
    }
  }
  return { head, all: all() };
}
