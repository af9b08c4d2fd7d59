import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import type { Digest } from './digest.ts';

const READ_SIZE = 1024 * 1024;

/**
 * Hashes a file by reading it into one reused buffer: a blob a child process
 * wrote is hashed from the bytes at rest, without a buffer per chunk for the
 * garbage collector to chase.
 */
export async function hashFile(path: string): Promise<{ digest: Digest; size: number }> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(READ_SIZE);
  const handle = await open(path, 'r');
  let size = 0;
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, READ_SIZE, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
      size += bytesRead;
    }
  } finally {
    await handle.close();
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
