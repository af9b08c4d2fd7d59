import { connect, type Socket } from 'node:net';
import type { BorrowedChunks } from './borrowed-chunks.ts';
import { PooledChunks, pooledOnRead } from './pooled-chunks.ts';

/**
 * Connects to a unix socket and reads all it sends into pooled buffers (see
 * BufferPool).
 */
export function readPooledSocket(path: string): { socket: Socket; chunks: BorrowedChunks } {
  const chunks = new PooledChunks();
  const { onread, attach } = pooledOnRead(chunks, (view, owner) => chunks.push(view, owner));
  const socket = connect({ path, onread });
  attach(socket);
  chunks.onFinish = () => socket.destroy();
  socket.on('error', (error) => chunks.fail(error));
  socket.on('end', () => chunks.end());
  socket.on('close', () => chunks.end());
  return { socket, chunks };
}
