import { open, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long a reader that caught up waits before looking again, unless the writer finishes first. */
export const DEFAULT_POLL_MS = 10;

/**
 * Reads a file while another writer (a compressor) is still appending to
 * it: `read` gives what is there, waits for more while the writer runs
 * (looking again every few milliseconds, or at once when the writer
 * finishes), and answers 0 only once the writer has finished and every byte
 * has been read. The file may not exist yet when reading begins. The writer
 * must only append (compressors writing their output do); bytes below the
 * file's size are whole, as the kernel extends the size after copying them.
 */
export class GrowingFileReader {
  private readonly path: string;
  private readonly pollMs: number;
  private state: 'writing' | 'done' | 'failed' = 'writing';
  private writeError: unknown;
  private readonly settled: Promise<void>;
  private handle: FileHandle | undefined;
  private position = 0;

  /** `written` settles when the writer has finished: resolved once the file is whole, rejected when writing failed. */
  constructor(path: string, written: Promise<void>, options: { pollMs?: number | undefined } = {}) {
    this.path = path;
    this.pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.settled = written.then(
      () => {
        this.state = 'done';
      },
      (error: unknown) => {
        this.state = 'failed';
        this.writeError = error;
      },
    );
  }

  /** Bytes read so far. */
  get bytes(): number {
    return this.position;
  }

  /** Reads up to `length` bytes into `into` at `offset`; 0 at the end of the finished file. Rejects with the writer's error. */
  async read(into: Uint8Array, offset: number, length: number): Promise<number> {
    for (;;) {
      // Whether the writer had finished before this read: then finding nothing more means the end.
      const finished = this.state;
      if (finished === 'failed') throw this.writeError;
      const handle = await this.opened(finished === 'done');
      if (handle !== undefined) {
        const { bytesRead } = await handle.read(into, offset, length, this.position);
        if (bytesRead > 0) {
          this.position += bytesRead;
          return bytesRead;
        }
        if (finished === 'done') return 0;
      }
      await Promise.race([this.settled, sleep(this.pollMs)]);
    }
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  /** The open file, or undefined while the writer has not created it yet. */
  private async opened(finished: boolean): Promise<FileHandle | undefined> {
    if (this.handle !== undefined) return this.handle;
    try {
      this.handle = await open(this.path, 'r');
      return this.handle;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !finished) return undefined;
      throw error;
    }
  }
}
