import { execFile } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { BLOCK, fileHeader, parseHeader } from '../../../../src/archive/tar/tar-header.ts';
import { readTar, type TarEntry } from '../../../../src/archive/tar/tar-reader.ts';
import { writeTar } from '../../../../src/archive/tar/tar-writer.ts';
import { MalformedArchiveError } from '../../../../src/errors.ts';
import { collect, pattern, tarOf, streamOf, tempDirs, typedFailure, type FileSpec } from '../support.ts';

const run = promisify(execFile);
const temp = tempDirs('tar');
afterEach(temp.cleanup);

interface ReadEntry {
  name: string;
  type: string;
  size: number;
  linkname: string;
  data: Buffer;
}

async function readAll(bytes: Uint8Array, sizes?: number[]): Promise<ReadEntry[]> {
  const entries: ReadEntry[] = [];
  for await (const entry of readTar(streamOf(bytes, sizes))) {
    entries.push({ name: entry.header.name, type: entry.header.type, size: entry.header.size, linkname: entry.header.linkname, data: await collect(entry.body) });
  }
  return entries;
}

/** A header block with another type flag and a name, checksum recomputed. */
function header(name: string, size: number, flag: string): Buffer {
  const block = fileHeader(name, size);
  block[156] = flag.charCodeAt(0);
  return withChecksum(block);
}

function withChecksum(block: Buffer): Buffer {
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return block;
}

function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK)]);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (`${length}${body}`.length !== length) length = `${length}${body}`.length;
  return `${length}${body}`;
}

const SIZES = [0, 1, 100, 511, 512, 513, 1023, 1024, 1025, 4096, 70_001];

describe('tar writer → reader', () => {
  it('round-trips files of sizes around the 512-byte block', async () => {
    const files: FileSpec[] = SIZES.map((size, i) => ({ name: `dir/file-${size}`, data: pattern(size, i + 1) }));
    const archive = await tarOf(files);
    expect(archive.length % BLOCK).toBe(0);
    expect(archive.subarray(-2 * BLOCK).every((b) => b === 0)).toBe(true);
    for (const sizes of [[1], [511, 3], [BLOCK], [100_000]]) {
      const entries = await readAll(archive, sizes);
      expect(entries.map((e) => e.name)).toEqual(files.map((f) => f.name));
      entries.forEach((entry, i) => {
        expect(entry.type).toBe('file');
        expect(entry.size).toBe(files[i]!.data.length);
        expect(entry.data.equals(files[i]!.data)).toBe(true);
      });
    }
  });

  it('writes exactly header + padded data per file', async () => {
    const archive = await tarOf(SIZES.map((size) => ({ name: `f${size}`, data: pattern(size) })));
    const expected = SIZES.reduce((sum, size) => sum + BLOCK + Math.ceil(size / BLOCK) * BLOCK, 0) + 2 * BLOCK;
    expect(archive.length).toBe(expected);
  });

  it('round-trips an empty archive and many files', async () => {
    expect(await readAll(await tarOf([]))).toEqual([]);
    const files = Array.from({ length: 2000 }, (_, i) => ({ name: `many/${i}`, data: pattern(i % 7 === 0 ? 0 : (i * 37) % 1500, i) }));
    const entries = await readAll(await tarOf(files));
    expect(entries).toHaveLength(2000);
    expect(entries.every((e, i) => e.name === files[i]!.name && e.data.equals(files[i]!.data))).toBe(true);
  });

  it('keeps the mode given', async () => {
    const archive = await collect(writeTar([{ name: 'run.sh', size: 2, mode: 0o755, content: () => [Buffer.from('hi')] }]));
    expect(parseHeader(archive.subarray(0, BLOCK))?.mode).toBe(0o755);
  });

  it('fails instead of writing a corrupt archive when content has the wrong size', async () => {
    await expect(collect(writeTar([{ name: 'a', size: 3, content: () => [Buffer.from('ab')] }]))).rejects.toThrow(/yielded 2 of its 3 bytes/);
    await expect(collect(writeTar([{ name: 'a', size: 1, content: () => [Buffer.from('ab')] }]))).rejects.toThrow(/more than its 1 bytes/);
    await expect(collect(writeTar([{ name: 'x'.repeat(101), size: 0, content: () => [] }]))).rejects.toThrow(RangeError);
  });

  it('encodes sizes past 8 GiB in base-256 and reads them back', () => {
    const size = 10 * 1024 ** 3 + 7;
    const block = fileHeader('huge', size);
    expect(block[124]).toBe(0x80);
    expect(parseHeader(block)).toMatchObject({ name: 'huge', size, type: 'file' });
    expect(parseHeader(fileHeader('edge', 8 ** 11 - 1))?.size).toBe(8 ** 11 - 1);
  });
});

describe('tar reader: consumers that do not read everything', () => {
  const files = [
    { name: 'a', data: pattern(5000, 1) },
    { name: 'b', data: pattern(1, 2) },
    { name: 'c', data: pattern(2048, 3) },
  ];

  it('skips the rest of an entry the consumer read part of', async () => {
    const archive = await tarOf(files);
    const seen: string[] = [];
    for await (const entry of readTar(streamOf(archive, [100]))) {
      if (entry.header.name === 'a') {
        const first = await entry.body.next();
        expect((first.value as Buffer).equals(files[0]!.data.subarray(0, (first.value as Buffer).length))).toBe(true);
        continue;
      }
      seen.push(`${entry.header.name}:${(await collect(entry.body)).equals(entry.header.name === 'b' ? files[1]!.data : files[2]!.data)}`);
    }
    expect(seen).toEqual(['b:true', 'c:true']);
  });

  it('skips entries whose body is never touched', async () => {
    const archive = await tarOf(files);
    const names: string[] = [];
    let last: TarEntry | undefined;
    for await (const entry of readTar(streamOf(archive, [333]))) {
      names.push(entry.header.name);
      last = entry;
    }
    expect(names).toEqual(['a', 'b', 'c']);
    expect(last).toBeDefined();
  });
});

describe('tar reader: malformed archives', () => {
  it('refuses a header with a bad checksum', async () => {
    const archive = await tarOf([{ name: 'file', data: Buffer.from('hello') }]);
    archive[0] = 'g'.charCodeAt(0);
    const error = await typedFailure(readAll(archive), 'ARCHIVE_MALFORMED');
    expect(error.message).toMatch(/bad checksum/);
    expect(error.message).toMatch(/at byte 0/);
  });

  it('refuses garbage and a non-octal size field', async () => {
    await typedFailure(readAll(pattern(4096)), 'ARCHIVE_MALFORMED');
    const block = fileHeader('f', 1);
    block.write('99999999999\0', 124, 12, 'latin1');
    await typedFailure(readAll(Buffer.concat([withChecksum(block), Buffer.alloc(BLOCK * 3)])), 'ARCHIVE_MALFORMED');
  });

  it('refuses an archive that ends inside a header or an entry', async () => {
    const archive = await tarOf([{ name: 'first', data: pattern(700) }, { name: 'second', data: pattern(1500) }]);
    await typedFailure(readAll(archive.subarray(0, 100)), 'ARCHIVE_MALFORMED');
    const inBody = await typedFailure(readAll(archive.subarray(0, BLOCK + 10)), 'ARCHIVE_MALFORMED');
    expect(inBody.message).toMatch(/ends inside entry 'first'/);
    await typedFailure(readAll(archive.subarray(0, 3 * BLOCK + 1000)), 'ARCHIVE_MALFORMED');
  });

  it('ends or fails with a typed error at every truncation point, never hangs', async () => {
    const files = [{ name: 'x', data: pattern(600, 1) }, { name: 'y', data: pattern(0) }, { name: 'z', data: pattern(1030, 3) }];
    const archive = await tarOf(files);
    // Where each entry's data ends: a cut before it must fail, not yield a short file.
    const dataEnds = [BLOCK + 600, 3 * BLOCK + BLOCK, 3 * BLOCK + BLOCK + BLOCK + 1030];
    for (let cut = 0; cut <= archive.length; cut++) {
      let entries: ReadEntry[] | undefined;
      let failure: unknown;
      try {
        entries = await readAll(archive.subarray(0, cut), [97]);
      } catch (error) {
        failure = error;
      }
      if (failure !== undefined) {
        expect(failure, `cut at ${cut}`).toBeInstanceOf(MalformedArchiveError);
        continue;
      }
      // Success only with whole files, and only those whose bytes fully arrived.
      const whole = dataEnds.filter((end) => end <= cut).length;
      expect(entries!.length, `cut at ${cut}`).toBeLessThanOrEqual(whole);
      entries!.forEach((entry, i) => expect(entry.data.equals(files[i]!.data), `cut at ${cut}`).toBe(true));
      if (cut % BLOCK !== 0) expect(entries!.length, `cut at ${cut}`).toBe(whole);
    }
  });

  it('refuses an extended header larger than 1 MiB before reading it', async () => {
    const archive = Buffer.concat([header('PaxHeaders/x', 2 * 1024 * 1024, 'x'), Buffer.alloc(BLOCK)]);
    const error = await typedFailure(readAll(archive), 'ARCHIVE_MALFORMED');
    expect(error.message).toMatch(/extended header of 2097152 bytes/);
  });

  it('refuses an archive that ends inside an extended header', async () => {
    await typedFailure(readAll(Buffer.concat([header('PaxHeaders/x', 100, 'x'), Buffer.alloc(50)])), 'ARCHIVE_MALFORMED');
  });

  it('refuses a pax size that is not a byte count', async () => {
    const pax = Buffer.from(paxRecord('size', '-5'));
    const archive = Buffer.concat([header('PaxHeaders/f', pax.length, 'x'), padded(pax), fileHeader('f', 0), Buffer.alloc(2 * BLOCK)]);
    const error = await typedFailure(readAll(archive), 'ARCHIVE_MALFORMED');
    expect(error.message).toMatch(/size -5/);
  });
});

describe('tar reader: extended names', () => {
  const longName = `${'deep/'.repeat(30)}file-with-a-long-name.txt`;

  it('applies a pax path record to the next entry only', async () => {
    const pax = Buffer.from(paxRecord('path', longName) + paxRecord('mtime', '1.5'));
    const data = Buffer.from('pax content');
    const archive = Buffer.concat([
      header('PaxHeaders/short', pax.length, 'x'),
      padded(pax),
      fileHeader('short', data.length),
      padded(data),
      fileHeader('plain', 0),
      Buffer.alloc(2 * BLOCK),
    ]);
    const entries = await readAll(archive, [13]);
    expect(entries.map((e) => e.name)).toEqual([longName, 'plain']);
    expect(entries[0]!.data.toString()).toBe('pax content');
  });

  it('takes the size from a pax record', async () => {
    const data = pattern(1000);
    const pax = Buffer.from(paxRecord('size', '1000'));
    const archive = Buffer.concat([header('PaxHeaders/f', pax.length, 'x'), padded(pax), fileHeader('f', 0), padded(data), Buffer.alloc(2 * BLOCK)]);
    const [entry] = await readAll(archive);
    expect(entry!.data.equals(data)).toBe(true);
  });

  it('applies a GNU long name (type L) and skips a global pax header', async () => {
    const name = Buffer.from(`${longName}\0`);
    const global = Buffer.from(paxRecord('comment', 'hello'));
    const archive = Buffer.concat([
      header('pax_global_header', global.length, 'g'),
      padded(global),
      header('././@LongLink', name.length, 'L'),
      padded(name),
      fileHeader('truncated-name', 3),
      padded(Buffer.from('abc')),
      Buffer.alloc(2 * BLOCK),
    ]);
    const entries = await readAll(archive);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ name: longName, size: 3 });
  });
});

describe('against the system tar', () => {
  it('tar lists and extracts what we write', async () => {
    const dir = await temp.make();
    const files = SIZES.map((size, i) => ({ name: `sub/f-${size}.bin`, data: pattern(size, i + 7) }));
    await writeFile(join(dir, 'ours.tar'), await tarOf(files));
    const { stdout } = await run('tar', ['-tvf', join(dir, 'ours.tar')]);
    const listed = stdout.trim().split('\n');
    expect(listed).toHaveLength(files.length);
    listed.forEach((line, i) => {
      expect(line).toMatch(new RegExp(`\\s${files[i]!.data.length}\\s.*${files[i]!.name.replace('.', '\\.')}$`));
    });
    await mkdir(join(dir, 'out'));
    await run('tar', ['-xf', join(dir, 'ours.tar'), '-C', join(dir, 'out')]);
    for (const file of files) expect((await readFile(join(dir, 'out', file.name))).equals(file.data)).toBe(true);
  });

  it.each([['pax'], ['gnu'], ['ustar']])('we read what tar --format=%s writes: long names, directories, symlinks', async (format) => {
    const dir = await temp.make();
    const src = join(dir, 'src');
    // ustar keeps a long path in its prefix field: at most 155 + 100 bytes, split at a slash.
    const longDir = format === 'ustar' ? `${'d'.repeat(60)}/${'e'.repeat(60)}` : `${'d'.repeat(90)}/${'e'.repeat(90)}`;
    const longFile = `${longDir}/${'f'.repeat(format === 'ustar' ? 90 : 150)}.txt`;
    const big = pattern(3 * BLOCK + 17, 9);
    await mkdir(join(src, longDir), { recursive: true });
    await writeFile(join(src, longFile), big);
    await writeFile(join(src, 'small'), 'hello');
    await symlink('small', join(src, 'link'));
    await run('tar', [`--format=${format}`, '-cf', join(dir, 'sys.tar'), '-C', src, '--sort=name', 'small', 'link', longFile.split('/')[0]!]);
    const entries = await readAll(await readFile(join(dir, 'sys.tar')), [1000]);
    const byName = new Map(entries.map((e) => [e.name.replace(/\/$/, ''), e]));
    expect(byName.get(longFile)?.data.equals(big)).toBe(true);
    expect(byName.get('small')?.data.toString()).toBe('hello');
    expect(byName.get('link')).toMatchObject({ type: 'symlink', linkname: 'small', data: Buffer.alloc(0) });
    expect(byName.get(longDir)).toMatchObject({ type: 'directory' });
  });
});
