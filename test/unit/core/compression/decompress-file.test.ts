import { spawnSync } from 'node:child_process';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startZstdDecompression } from '../../../../src/compression/decompress-file.ts';
import { collect, pattern, tempDirs } from '../support.ts';

const temp = tempDirs('decompress-file');
afterEach(async () => await temp.cleanup());

function zstd(bytes: Buffer): Buffer {
  const result = spawnSync('zstd', ['-3', '-q', '-c'], { input: bytes, maxBuffer: 64 * 1024 * 1024 });
  expect(result.status).toBe(0);
  return result.stdout;
}

/** Live processes whose command line names the file (zombies have none). */
async function processesNaming(file: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes(file)) found.push(pid);
  }
  return found;
}

async function ourSockets(): Promise<string[]> {
  // mkdtemp('handover-') names; other tests' directories carry a prefix of their own.
  return (await readdir(tmpdir())).filter((name) => /^handover-[A-Za-z0-9]{6}$/.test(name));
}

describe('startZstdDecompression', () => {
  it('decompresses a file of several frames through reused buffers, whatever the pace of the reader', async () => {
    const first = pattern(3 * 1024 * 1024, 7);
    const second = Buffer.alloc(2 * 1024 * 1024, 0x61);
    const path = join(await temp.make(), 'layer.zst');
    await writeFile(path, Buffer.concat([zstd(first), zstd(second)]));
    const before = await ourSockets();
    expect((await collect(await startZstdDecompression(path))).equals(Buffer.concat([first, second]))).toBe(true);
    expect((await collect(await startZstdDecompression(path), 1)).equals(Buffer.concat([first, second]))).toBe(true);
    // The private directory of the socket is gone once the child is connected.
    expect(await ourSockets()).toEqual(before);
  });

  it('fails with what zstd says when the file is not zstd, or is cut short', async () => {
    const dir = await temp.make();
    const garbage = join(dir, 'garbage.zst');
    await writeFile(garbage, pattern(100_000, 8));
    await expect(collect(await startZstdDecompression(garbage))).rejects.toThrow(/zstd -d exited with status 1: .*unknown header|unsupported format/i);
    const cut = join(dir, 'cut.zst');
    await writeFile(cut, zstd(pattern(1024 * 1024, 9)).subarray(0, 5000));
    await expect(collect(await startZstdDecompression(cut))).rejects.toThrow(/zstd -d exited with status 1/);
  });

  it('stops the child when the reader stops early', async () => {
    const path = join(await temp.make(), 'big.zst');
    await writeFile(path, zstd(Buffer.alloc(64 * 1024 * 1024, 0x62)));
    const iterator = await startZstdDecompression(path);
    const first = await iterator.next();
    expect(first.done).toBe(false);
    expect(await processesNaming(path)).toHaveLength(1);
    await iterator.return(undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await processesNaming(path)).toEqual([]);
  });
});
