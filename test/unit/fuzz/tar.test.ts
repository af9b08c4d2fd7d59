import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readTar } from '../../../src/archive/tar/tar-reader.ts';
import { writeTar, type TarFile } from '../../../src/archive/tar/tar-writer.ts';
import { HandoverError } from '../../../src/errors.ts';
import { byteEdits, inChunks, mutate, runs, typedOrValueWithin } from './fuzz.ts';

/** Reads every entry, draining bodies; returns the body bytes seen. */
async function readAll(bytes: Uint8Array, chunk: number): Promise<number> {
  let total = 0;
  for await (const entry of readTar(inChunks(bytes, chunk))) {
    for await (const piece of entry.body) total += piece.length;
  }
  return total;
}

async function tarOf(files: Array<{ name: string; data: Uint8Array }>): Promise<Buffer> {
  const entries: TarFile[] = files.map((f) => ({ name: f.name, size: f.data.length, content: function* () { yield f.data; } }));
  const out: Uint8Array[] = [];
  for await (const piece of writeTar(entries)) out.push(piece);
  return Buffer.concat(out);
}

const files = fc.array(
  fc.record({ name: fc.stringMatching(/^[a-z0-9._/-]{1,40}$/).filter((n) => !n.endsWith('/')), data: fc.uint8Array({ maxLength: 3000 }) }),
  { minLength: 1, maxLength: 4 },
);
const edits = byteEdits(8);

describe('the tar reader under fuzzing', () => {
  it('arbitrary bytes: entries or a typed error, never a hang', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), fc.integer({ min: 1, max: 700 }), async (bytes, chunk) => {
        const result = await typedOrValueWithin(2000, async () => await readAll(bytes, chunk));
        if (!(result instanceof HandoverError)) expect(result).toBeLessThanOrEqual(bytes.length);
      }),
      runs(500),
    );
  });

  it('a valid tar with bytes flipped, deleted, inserted or cut: entries or a typed error, never more bytes than given', async () => {
    await fc.assert(
      fc.asyncProperty(files, edits, fc.integer({ min: 1, max: 2000 }), async (entries, e, chunk) => {
        const damaged = mutate(await tarOf(entries), e);
        const result = await typedOrValueWithin(2000, async () => await readAll(damaged, chunk));
        if (!(result instanceof HandoverError)) expect(result).toBeLessThanOrEqual(damaged.length);
      }),
      runs(500),
    );
  });

  it('a header claiming a huge entry (up to 8 GiB) over a few bytes fails fast, allocating nothing near its size', async () => {
    await fc.assert(
      fc.asyncProperty(fc.bigInt({ min: 1n << 20n, max: (1n << 33n) - 1n }), fc.uint8Array({ maxLength: 2000 }), async (size, tail) => {
        const tar = await tarOf([{ name: 'big', data: new Uint8Array(0) }]);
        const header = Buffer.from(tar.subarray(0, 512));
        header.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
        header.fill(0x20, 148, 156);
        let sum = 0;
        for (const byte of header) sum += byte;
        header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
        const before = process.memoryUsage().arrayBuffers;
        const result = await typedOrValueWithin(2000, async () => await readAll(Buffer.concat([header, tail]), 512));
        expect(result).toBeInstanceOf(HandoverError);
        expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
      }),
      runs(50),
    );
  });
});
