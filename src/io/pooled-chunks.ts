import type { OnReadOpts, Socket } from 'node:net';
import { BufferPool } from './buffer-pool.ts';
import { lend, type BorrowedChunk } from './borrowed-chunks.ts';

const BUFFERS = 8;
const BUFFER_SIZE = 256 * 1024;

/**
 * Chunks of pooled buffers, handed to one consumer in order; asking for
 * the next chunk gives the last one's buffer back.
 */
export class PooledChunks implements AsyncIterableIterator<BorrowedChunk> {
  readonly pool = new BufferPool(BUFFERS, BUFFER_SIZE);
  private readonly queue: Array<{ view: Buffer; owner: Buffer }> = [];
  private current: Buffer | undefined;
  private waiting: (() => void) | undefined;
  failure: Error | undefined;
  ended = false;
  /** Whether the stream is whole once the queue is drained; by default, once the source ended without error. */
  complete: () => boolean = () => this.ended && this.failure === undefined;
  /** Called once, when the consumer is done (finished, failed or stopped early). */
  onFinish: () => void = () => undefined;

  push(view: Buffer, owner: Buffer): void {
    if (view.length === 0) return;
    this.pool.use(owner);
    this.queue.push({ view, owner });
  }

  fail(error: Error): void {
    this.failure ??= error;
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  wake(): void {
    const resume = this.waiting;
    this.waiting = undefined;
    resume?.();
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<BorrowedChunk>> {
    this.releaseCurrent();
    for (;;) {
      const item = this.queue.shift();
      if (item !== undefined) {
        this.current = item.owner;
        return { done: false, value: lend(item.view) };
      }
      if (this.complete()) {
        this.finish();
        return { done: true, value: undefined };
      }
      if (this.failure !== undefined) {
        this.finish();
        throw this.failure;
      }
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
  }

  return(): Promise<IteratorResult<BorrowedChunk>> {
    this.finish();
    return Promise.resolve({ done: true, value: undefined });
  }

  private releaseCurrent(): void {
    if (this.current !== undefined) this.pool.release(this.current);
    this.current = undefined;
  }

  private finish(): void {
    this.releaseCurrent();
    for (const item of this.queue.splice(0)) this.pool.release(item.owner);
    this.onFinish();
  }
}

/**
 * net's `onread` for reading into a PooledChunks' pool: `take` gets each
 * read (and may push views of it); the socket pauses while the pool runs
 * low and resumes as buffers come back. `attach` the socket once made.
 */
export function pooledOnRead(chunks: PooledChunks, take: (bytes: Buffer, owner: Buffer) => void): { onread: OnReadOpts; attach: (socket: Socket) => void } {
  const { pool } = chunks;
  let socket: Socket | undefined;
  let paused = false;
  pool.onFree = () => {
    if (paused && socket !== undefined && !socket.destroyed) {
      paused = false;
      socket.resume();
    }
  };
  const onread: OnReadOpts = {
    buffer: () => pool.reserve(),
    callback: (bytes: number, buffer: Uint8Array) => {
      const owner = buffer as Buffer;
      pool.filled(owner);
      try {
        take(owner.subarray(0, bytes), owner);
      } catch (error) {
        socket?.destroy(error as Error);
      }
      pool.release(owner);
      chunks.wake();
      // net reserves the next read's buffer right after this, paused or not: keep one for it.
      paused = pool.available <= 1;
      return !paused;
    },
  };
  return { onread, attach: (made) => (socket = made) };
}
