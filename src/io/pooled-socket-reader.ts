import { connect, type Socket } from 'node:net';
import { BufferPool } from './buffer-pool.ts';

const BUFFERS = 8;
const BUFFER_SIZE = 256 * 1024;

/**
 * Connects to a unix socket and reads all it sends into pooled buffers (see
 * BufferPool). A chunk is valid only until the next is asked for.
 */
export function readPooledSocket(path: string): { socket: Socket; chunks: AsyncIterableIterator<Buffer> } {
  const pool = new BufferPool(BUFFERS, BUFFER_SIZE);
  const queue: Array<{ view: Buffer; owner: Buffer }> = [];
  let current: Buffer | undefined;
  let failure: Error | undefined;
  let ended = false;
  let paused = false;
  let waiting: (() => void) | undefined;
  const wake = (): void => {
    const resume = waiting;
    waiting = undefined;
    resume?.();
  };
  const socket = connect({
    path,
    onread: {
      buffer: () => pool.reserve(),
      callback: (bytes: number, buffer: Uint8Array) => {
        const owner = buffer as Buffer;
        pool.filled(owner);
        queue.push({ view: owner.subarray(0, bytes), owner });
        wake();
        // net reserves the next read's buffer right after this, paused or not: keep one for it.
        paused = pool.available <= 1;
        return !paused;
      },
    },
  });
  pool.onFree = () => {
    if (paused && !socket.destroyed) {
      paused = false;
      socket.resume();
    }
  };
  socket.on('error', (error) => {
    failure ??= error;
    wake();
  });
  socket.on('end', () => {
    ended = true;
    wake();
  });
  socket.on('close', () => {
    ended = true;
    wake();
  });
  const finish = (): void => {
    if (current !== undefined) pool.release(current);
    current = undefined;
    for (const item of queue.splice(0)) pool.release(item.owner);
    socket.destroy();
  };
  const chunks: AsyncIterableIterator<Buffer> = {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next(): Promise<IteratorResult<Buffer>> {
      if (current !== undefined) pool.release(current);
      current = undefined;
      for (;;) {
        const item = queue.shift();
        if (item !== undefined) {
          current = item.owner;
          return { done: false, value: item.view };
        }
        if (failure !== undefined) {
          finish();
          throw failure;
        }
        if (ended) {
          finish();
          return { done: true, value: undefined };
        }
        await new Promise<void>((resolve) => (waiting = resolve));
      }
    },
    return(): Promise<IteratorResult<Buffer>> {
      finish();
      return Promise.resolve({ done: true, value: undefined });
    },
  };
  return { socket, chunks };
}
