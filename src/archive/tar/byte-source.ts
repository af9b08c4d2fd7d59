import { lend, type BorrowedChunk } from '../../io/borrowed-chunks.ts';

/**
 * Pull-based reading of an async byte stream: exact reads for headers and
 * bounded chunk streams for bodies. Pulling (rather than pushing) keeps
 * back-pressure intact: nothing is read faster than the consumer takes it.
 * Its source may lend its chunks; so does `chunks`.
 */
export class ByteSource {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private head: Buffer = Buffer.alloc(0);
  private ended = false;
  /** Bytes consumed so far. */
  position = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    // The source may reuse a chunk's buffer once the next is pulled: keep a copy of what is left.
    if (this.head.length > 0) this.head = Buffer.from(this.head);
    const next = await this.iterator.next();
    if (next.done === true) {
      this.ended = true;
      return false;
    }
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
    this.head = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
    return true;
  }

  /** Exactly n bytes, or fewer only when the stream ends first. */
  async read(n: number): Promise<Buffer> {
    while (this.head.length < n && (await this.fill()));
    const out = this.head.subarray(0, Math.min(n, this.head.length));
    this.head = this.head.subarray(out.length);
    this.position += out.length;
    return out;
  }

  /** Up to n bytes as they arrive; ends early only when the stream does. */
  async *chunks(n: number): AsyncGenerator<BorrowedChunk> {
    let left = n;
    while (left > 0) {
      if (this.head.length === 0 && !(await this.fill())) return;
      const take = this.head.subarray(0, Math.min(left, this.head.length));
      this.head = this.head.subarray(take.length);
      this.position += take.length;
      left -= take.length;
      yield lend(take);
    }
  }

  /** Discards n bytes. */
  async skip(n: number): Promise<number> {
    let skipped = 0;
    for await (const chunk of this.chunks(n)) skipped += chunk.length;
    return skipped;
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}
