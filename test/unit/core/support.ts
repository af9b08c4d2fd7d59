import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'vitest';
import { writeTar, type TarFile } from '../../../src/archive/tar/tar-writer.ts';
import { HandoverError } from '../../../src/errors.ts';

/** A fresh temporary directory; `cleanup` removes every one made so far. */
export function tempDirs(prefix: string): { make: () => Promise<string>; cleanup: () => Promise<void> } {
  const made: string[] = [];
  return {
    make: async () => {
      const dir = await mkdtemp(join(tmpdir(), `handover-${prefix}-`));
      made.push(dir);
      return dir;
    },
    cleanup: async () => {
      await Promise.all(made.splice(0).map(async (dir) => await rm(dir, { recursive: true, force: true })));
    },
  };
}

/**
 * All the bytes of a stream, each chunk copied before the next is pulled (as
 * sources that reuse their buffers require); `pauseMs` makes a slow reader.
 */
export async function collect(source: AsyncIterable<Uint8Array>, pauseMs = 0): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) {
    chunks.push(Buffer.from(chunk));
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
  return Buffer.concat(chunks);
}

/** Splits bytes into chunks of the given sizes, cycling through them. */
export function* chunked(bytes: Uint8Array, sizes: readonly number[] = [7, 500, 1, 1031]): Generator<Buffer> {
  let offset = 0;
  let i = 0;
  while (offset < bytes.length) {
    const size = sizes[i++ % sizes.length]!;
    yield Buffer.from(bytes.subarray(offset, offset + size));
    offset += size;
  }
}

/** Deterministic bytes: not all zero, not repeating on 512-byte boundaries. */
export function pattern(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export interface FileSpec {
  name: string;
  data: Uint8Array;
}

/** A tar archive of regular files, written with our writer. */
export async function tarOf(files: readonly FileSpec[]): Promise<Buffer> {
  const entries: TarFile[] = files.map((f) => ({ name: f.name, size: f.data.length, content: () => chunked(f.data) }));
  return await collect(writeTar(entries));
}

/** Runs a promise (or function) that must fail with a typed error; returns the error. */
export async function typedFailure(work: Promise<unknown> | (() => unknown), code: string): Promise<HandoverError> {
  let thrown: unknown;
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected a failure with ${code}`).toBeInstanceOf(HandoverError);
  const error = thrown as HandoverError;
  expect({ code: error.code, message: error.message }).toMatchObject({ code });
  return error;
}

/** Synchronous variant for pure parsers. */
export function typedThrow(work: () => unknown, code: string): HandoverError {
  let thrown: unknown;
  try {
    work();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected a failure with ${code}`).toBeInstanceOf(HandoverError);
  const error = thrown as HandoverError;
  expect({ code: error.code, message: error.message }).toMatchObject({ code });
  return error;
}

/** A writable that keeps what was written, optionally pretending to be a terminal. */
export class Capture extends Writable {
  text = '';
  isTTY: boolean;

  constructor(isTTY = false) {
    super();
    this.isTTY = isTTY;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString();
    callback();
  }
}

/** The same chunks as an async stream, as a file or socket would give them. */
export async function* streamOf(bytes: Uint8Array, sizes?: readonly number[]): AsyncGenerator<Buffer> {
  for (const chunk of chunked(bytes, sizes)) {
    await Promise.resolve();
    yield chunk;
  }
}
