import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { BorrowedChunk } from '../io/borrowed-chunks.ts';
import { readPooledSocket } from '../io/pooled-socket-reader.ts';
import { childExit } from './child-exit.ts';

/**
 * Writes the compressed bytes into zstd's stdin, resolving once every byte
 * is written. A rejection kills zstd and is the error its output ends with.
 */
export type ZstdFeed = (stdin: Writable) => Promise<void>;

/**
 * Decompresses zstd with the zstd command — a file it reads itself, or bytes
 * a feed writes into its stdin (a blob read by range) — whose output comes back
 * over a unix socket read into reused buffers: neither the compressed nor
 * the decompressed bytes cost this process an allocation. (A child's stdout
 * pipe cannot be read that way; a connected socket can, and the child writes
 * to it as to any stdout.) The socket lives in a private directory, so no
 * other user can connect to it. Resolves once zstd runs, failing when the
 * socket cannot be made (callers may decompress otherwise); the stream
 * fails if zstd does.
 */
export async function startZstdDecompression(input: string | ZstdFeed): Promise<AsyncGenerator<BorrowedChunk>> {
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
  const fromFile = typeof input === 'string';
  const child = spawn('zstd', ['-d', '-c', '-q', '--no-progress', ...(fromFile ? [input] : [])], { stdio: [fromFile ? 'ignore' : 'pipe', peer, 'pipe'] }) as ChildProcess & { stderr: Readable };
  peer.destroy();
  const exited = childExit(child, 'zstd -d');
  let fed: Promise<void> = Promise.resolve();
  let feedFailure: { error: unknown } | undefined;
  const stdin = child.stdin;
  if (typeof input !== 'string' && stdin !== null) {
    stdin.on('error', () => undefined); // a write that fails says so to the feed
    fed = input(stdin)
      .then(async () => await new Promise<void>((resolve) => stdin.end(resolve)))
      .catch((error: unknown) => {
        feedFailure ??= { error };
        child.kill('SIGKILL');
        throw error;
      });
    fed.catch(() => undefined); // awaited below
  }
  const { chunks, socket } = reader;
  return (async function* () {
    try {
      yield* chunks;
      await fed;
      await exited;
    } catch (error) {
      // The feed's failure (its source, a digest that did not match) is the cause; zstd was killed for it.
      if (feedFailure !== undefined) throw feedFailure.error;
      throw error;
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      socket.destroy();
    }
  })();
}
