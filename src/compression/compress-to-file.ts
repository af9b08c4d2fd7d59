import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Compression } from '../bundle/media-types.ts';
import { ownedChunks, type BorrowedChunks } from '../io/borrowed-chunks.ts';
import { ByteCounter } from '../io/byte-counter.ts';
import { childExit } from './child-exit.ts';
import { ZSTD_ARGS, compressionStages, useZstdCommand, type ZstdCodec } from './codecs.ts';

/**
 * Compresses a stream into a new file at `path` and returns how many bytes
 * went in. With the zstd command its output goes straight to the file, so
 * compressed bytes never pass through this process.
 */
export async function compressToFile(
  source: BorrowedChunks,
  path: string,
  compression: Exclude<Compression, 'none'>,
  options: { codec: ZstdCodec; signal: AbortSignal | undefined },
): Promise<number> {
  const { signal } = options;
  if (compression === 'zstd' && useZstdCommand(options.codec)) return await zstdToFile(source, path, signal);
  const counter = new ByteCounter();
  const stages = [Readable.from(ownedChunks(source)), counter, ...compressionStages(compression), createWriteStream(path, { flags: 'wx' })];
  await pipeline(stages, signal === undefined ? {} : { signal });
  return counter.bytes;
}

/** Writes one chunk and waits until the pipe has taken it, so the chunk's buffer may be reused. */
function writeChunk(stdin: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    stdin.write(chunk, (error) => (error === null || error === undefined ? resolve() : reject(error)));
  });
}

/** Feeds the zstd command chunk by chunk, each write awaited, since the chunks are borrowed. */
async function zstdToFile(source: BorrowedChunks, path: string, signal: AbortSignal | undefined): Promise<number> {
  const file = await open(path, 'wx');
  let child: ChildProcessByStdio<Writable, null, Readable>;
  try {
    child = spawn('zstd', ZSTD_ARGS, { stdio: ['pipe', file.fd, 'pipe'] }) as ChildProcessByStdio<Writable, null, Readable>;
  } finally {
    await file.close();
  }
  const exited = childExit(child, 'zstd');
  child.stdin.on('error', () => undefined); // surfaces through the awaited write
  let bytes = 0;
  try {
    for await (const chunk of source) {
      signal?.throwIfAborted();
      bytes += chunk.length;
      await writeChunk(child.stdin, chunk);
    }
    await new Promise<void>((resolve) => child.stdin.end(resolve));
  } catch (error) {
    // EPIPE: zstd quit on its own (a full disk); its exit says why.
    if ((error as NodeJS.ErrnoException).code === 'EPIPE') await exited;
    child.kill('SIGKILL');
    await exited.catch(() => undefined);
    throw error;
  }
  await exited;
  return bytes;
}
