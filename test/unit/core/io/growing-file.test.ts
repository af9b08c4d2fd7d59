import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GrowingFileReader } from '../../../../src/io/growing-file.ts';
import { pattern, tempDirs } from '../support.ts';

const dirs = tempDirs('growing-file');
afterAll(dirs.cleanup);

async function readAll(reader: GrowingFileReader, size = 1000): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const buffer = Buffer.alloc(size);
  for (;;) {
    const count = await reader.read(buffer, 0, buffer.length);
    if (count === 0) break;
    chunks.push(Buffer.from(buffer.subarray(0, count)));
  }
  return Buffer.concat(chunks);
}

describe('GrowingFileReader: a file read while it is written', () => {
  it('reads what is there, waits for more while the writer runs (even before the file exists), and ends when it has finished', async () => {
    const path = join(await dirs.make(), 'layer');
    const bytes = pattern(10_000);
    let done = (): void => undefined;
    const written = new Promise<void>((resolve) => (done = resolve));
    const reader = new GrowingFileReader(path, written, { pollMs: 2 });
    const all = readAll(reader, 3000);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await writeFile(path, bytes.subarray(0, 4000));
    await new Promise((resolve) => setTimeout(resolve, 10));
    await appendFile(path, bytes.subarray(4000));
    done();
    expect((await all).equals(bytes)).toBe(true);
    expect(reader.bytes).toBe(bytes.length);
    await reader.close();
  });

  it("fails with the writer's error, and when the writer finished without making the file", async () => {
    const path = join(await dirs.make(), 'layer');
    const failing = new GrowingFileReader(path, Promise.reject(new Error('zstd exited with status 1')));
    await expect(readAll(failing)).rejects.toThrow('zstd exited with status 1');
    const missing = new GrowingFileReader(path, Promise.resolve());
    await expect(readAll(missing)).rejects.toThrow(/ENOENT/);
  });
});
