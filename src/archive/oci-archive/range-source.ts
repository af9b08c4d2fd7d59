import { open } from 'node:fs/promises';
import { lend, type BorrowedChunks } from '../../io/borrowed-chunks.ts';
import { fileChunks } from '../../io/file-chunks.ts';

/** Bytes that can be read by range: a blob behind a signed URL, or a file. */
export interface RangeSource {
  readonly size: number;
  /** Bytes [start, end) whole: for small ranges. */
  bytes(start: number, end: number): Promise<Buffer>;
  /** Bytes [start, end), borrowed: each chunk is valid until the next is asked for. */
  chunks(start: number, end: number): BorrowedChunks;
}

/** A file read by range (a downloaded archive, or one written locally). */
export async function fileRangeSource(path: string): Promise<RangeSource> {
  const handle = await open(path, 'r');
  let size: number;
  try {
    size = (await handle.stat()).size;
  } finally {
    await handle.close();
  }
  return {
    size,
    async bytes(start, end) {
      const file = await open(path, 'r');
      try {
        const buffer = Buffer.alloc(end - start);
        let at = 0;
        while (at < buffer.length) {
          const { bytesRead } = await file.read(buffer, at, buffer.length - at, start + at);
          if (bytesRead === 0) throw new RangeError(`${path} ends before byte ${start + at}`);
          at += bytesRead;
        }
        return buffer;
      } finally {
        await file.close();
      }
    },
    async *chunks(start, end) {
      for await (const chunk of fileChunks(path, { start, end })) yield lend(chunk);
    },
  };
}
