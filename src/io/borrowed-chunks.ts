declare const borrowed: unique symbol;

/**
 * A chunk lent by a stream that reuses its buffers: it is valid only until
 * the next chunk is asked for. Pass it on, or copy it with `ownedChunks`;
 * never keep it.
 */
export type BorrowedChunk = Buffer & { readonly [borrowed]: true };

/** A stream whose chunks are borrowed (see BorrowedChunk). */
export type BorrowedChunks = AsyncIterable<BorrowedChunk>;

/** Marks a chunk whose buffer its producer will reuse once the next is asked for. */
export function lend(chunk: Buffer): BorrowedChunk {
  return chunk as BorrowedChunk;
}

/** Copies each borrowed chunk, for consumers (stream buffers, compressors) that hold several. */
export async function* ownedChunks(source: BorrowedChunks): AsyncGenerator<Buffer> {
  for await (const chunk of source) yield Buffer.from(chunk);
}
