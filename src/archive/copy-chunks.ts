/**
 * Copies each chunk of a source whose chunks are valid only until the next
 * is pulled, for consumers (stream buffers, compressors) that hold several.
 */
export async function* copyChunks(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  for await (const chunk of source) yield Buffer.from(chunk);
}
