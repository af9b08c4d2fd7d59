import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Compression } from '../bundle/media-types.ts';
import { ByteCounter } from '../handover/byte-counter.ts';
import { ZSTD_ARGS, compressionStages, zstdCommandAvailable } from './codecs.ts';

/**
 * Compresses a stream into a new file at `path` and returns how many bytes
 * went in. With the zstd command its output goes straight to the file, so
 * compressed bytes never pass through this process.
 */
export async function compressToFile(
  source: Readable,
  path: string,
  compression: Exclude<Compression, 'none'>,
  signal: AbortSignal | undefined,
): Promise<number> {
  const counter = new ByteCounter();
  if (compression === 'zstd' && zstdCommandAvailable(process.env)) {
    await zstdToFile(source, counter, path, signal);
  } else {
    await pipeline([source, counter, ...compressionStages(compression), createWriteStream(path, { flags: 'wx' })], signal === undefined ? {} : { signal });
  }
  return counter.bytes;
}

async function zstdToFile(source: Readable, counter: ByteCounter, path: string, signal: AbortSignal | undefined): Promise<void> {
  const file = await open(path, 'wx');
  let child: ChildProcessByStdio<Writable, null, Readable>;
  try {
    child = spawn('zstd', ZSTD_ARGS, { stdio: ['pipe', file.fd, 'pipe'] }) as ChildProcessByStdio<Writable, null, Readable>;
  } finally {
    await file.close();
  }
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, exitSignal) => {
      if (code === 0) {
        resolve();
        return;
      }
      const how = code === null ? `signal ${exitSignal ?? '?'}` : `status ${code}`;
      const error: NodeJS.ErrnoException = new Error(`zstd exited with ${how}${stderr === '' ? '' : `: ${stderr.trim()}`}`);
      if (/No space left on device/i.test(stderr)) error.code = 'ENOSPC';
      reject(error);
    });
  });
  try {
    await pipeline([source, counter, child.stdin], signal === undefined ? {} : { signal });
  } catch (error) {
    // EPIPE: zstd quit on its own (a full disk); its exit says why.
    if ((error as NodeJS.ErrnoException).code === 'EPIPE') await exited;
    child.kill('SIGKILL');
    await exited.catch(() => undefined);
    throw error;
  }
  await exited;
}
