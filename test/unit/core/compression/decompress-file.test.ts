import { spawnSync } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { zstdDecompressFile } from '../../../../src/compression/decompress-file.ts';
import { pattern, tempDirs } from '../support.ts';

const temp = tempDirs('decompress-file');
afterEach(async () => await temp.cleanup());

function zstd(bytes: Buffer): Buffer {
  const result = spawnSync('zstd', ['-3', '-q', '-c'], { input: bytes, maxBuffer: 64 * 1024 * 1024 });
  expect(result.status).toBe(0);
  return result.stdout;
}

/** Reads every chunk, copying it before the next is pulled, as the contract asks. */
async function readAll(chunks: AsyncIterable<Buffer>, slow = false): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of chunks) {
    parts.push(Buffer.from(chunk));
    if (slow) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return Buffer.concat(parts);
}

async function ourSockets(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith('handover-') && !name.startsWith('handover-decompress-file'));
}

describe('zstdDecompressFile', () => {
  it('decompresses a file of several frames through reused buffers, whatever the pace of the reader', async () => {
    const first = pattern(3 * 1024 * 1024, 7);
    const second = Buffer.alloc(2 * 1024 * 1024, 0x61);
    const path = join(await temp.make(), 'layer.zst');
    await writeFile(path, Buffer.concat([zstd(first), zstd(second)]));
    const before = await ourSockets();
    expect((await readAll(zstdDecompressFile(path))).equals(Buffer.concat([first, second]))).toBe(true);
    expect((await readAll(zstdDecompressFile(path), true)).equals(Buffer.concat([first, second]))).toBe(true);
    // The private directory of the socket is gone once the child is connected.
    expect(await ourSockets()).toEqual(before);
  });

  it('fails with what zstd says when the file is not zstd, or is cut short', async () => {
    const dir = await temp.make();
    const garbage = join(dir, 'garbage.zst');
    await writeFile(garbage, pattern(100_000, 8));
    await expect(readAll(zstdDecompressFile(garbage))).rejects.toThrow(/zstd -d exited with status 1: .*unknown header|unsupported format/i);
    const cut = join(dir, 'cut.zst');
    await writeFile(cut, zstd(pattern(1024 * 1024, 9)).subarray(0, 5000));
    await expect(readAll(zstdDecompressFile(cut))).rejects.toThrow(/zstd -d exited with status 1/);
  });

  it('stops the child when the reader stops early', async () => {
    const path = join(await temp.make(), 'big.zst');
    await writeFile(path, zstd(Buffer.alloc(64 * 1024 * 1024, 0x62)));
    const iterator = zstdDecompressFile(path);
    const first = await iterator.next();
    expect(first.done).toBe(false);
    await iterator.return(undefined);
    const zstds = spawnSync('pgrep', ['-f', `zstd -d -c -q --no-progress ${path}`]).stdout.toString().trim();
    expect(zstds).toBe('');
  });
});
