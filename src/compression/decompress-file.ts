import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BorrowedChunk } from '../io/borrowed-chunks.ts';
import { readPooledSocket } from '../io/pooled-socket-reader.ts';
import { childExit } from './child-exit.ts';

/**
 * Decompresses a zstd file with the zstd command, whose output comes back
 * over a unix socket read into reused buffers: neither the compressed nor
 * the decompressed bytes cost this process an allocation. (A child's stdout
 * pipe cannot be read that way; a connected socket can, and the child writes
 * to it as to any stdout.) The socket lives in a private directory, so no
 * other user can connect to it. Resolves once zstd runs, failing when the
 * socket cannot be made (callers may decompress otherwise); the stream
 * fails if zstd does.
 */
export async function startZstdDecompression(path: string): Promise<AsyncGenerator<BorrowedChunk>> {
  // A unix socket path has room for about 100 bytes; a long TMPDIR would not leave enough.
  const dir = await mkdtemp(join(tmpdir().length > 80 ? '/tmp' : tmpdir(), 'handover-'));
  const server = createServer();
  let reader: ReturnType<typeof readPooledSocket> | undefined;
  let peer: Socket;
  try {
    const socketPath = join(dir, 'out');
    server.listen(socketPath);
    await once(server, 'listening');
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    reader = readPooledSocket(socketPath);
    [peer] = await accepted;
  } catch (error) {
    reader?.socket.destroy();
    throw error;
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
  const child = spawn('zstd', ['-d', '-c', '-q', '--no-progress', path], { stdio: ['ignore', peer, 'pipe'] });
  peer.destroy();
  const exited = childExit(child, 'zstd -d');
  const { chunks, socket } = reader;
  return (async function* () {
    try {
      yield* chunks;
      await exited;
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      socket.destroy();
    }
  })();
}
