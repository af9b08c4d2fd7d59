import { open } from 'node:fs/promises';

/**
 * Reads a file, or bytes [start, end) of it, into one reused buffer: each
 * chunk is valid only until the next is asked for. Files of any size pass
 * through the same buffer and leave the garbage collector nothing to chase
 * (fresh chunks would let RSS grow by tens of MiB between collections).
 */
export async function* fileChunks(path: string, options: { start?: number; end?: number; bufferSize?: number } = {}): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(options.bufferSize ?? 256 * 1024);
    let position = options.start ?? 0;
    const end = options.end ?? Number.POSITIVE_INFINITY;
    while (position < end) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, end - position), position);
      if (bytesRead === 0) break;
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await handle.close();
  }
}
