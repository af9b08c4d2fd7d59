import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { TOC_NAME, locateToc, serializeToc, type TocEntry } from '../../../../src/archive/oci-archive/archive-toc.ts';
import { OciArchiveReader } from '../../../../src/archive/oci-archive/oci-archive-reader.ts';
import { OciArchiveWriter } from '../../../../src/archive/oci-archive/oci-archive-writer.ts';
import { fileRangeSource, type RangeSource } from '../../../../src/archive/oci-archive/range-source.ts';
import { digestHex, sha256Digest } from '../../../../src/digest/digest.ts';
import { syntheticBundle, writeSyntheticArchive } from '../../../support/synthetic-bundle.ts';
import { collect, tempDirs, typedFailure } from '../support.ts';

const run = promisify(execFile);
const dirs = tempDirs('oci-archive');
afterAll(dirs.cleanup);

/** A file source that records every range read. */
async function recordingSource(path: string): Promise<{ source: RangeSource; reads: Array<[number, number]> }> {
  const file = await fileRangeSource(path);
  const reads: Array<[number, number]> = [];
  return {
    reads,
    source: {
      size: file.size,
      bytes: async (start, end) => {
        reads.push([start, end]);
        return await file.bytes(start, end);
      },
      chunks: (start, end) => {
        reads.push([start, end]);
        return file.chunks(start, end);
      },
    },
  };
}

describe('the single-file bundle (OCI archive)', () => {
  it('puts layers first and the metadata, Docker manifest and table of contents last, readable by tar', async () => {
    const bundle = syntheticBundle([70_000, 1_000, 5]);
    const path = join(await dirs.make(), 'bundle.tar');
    const written = await writeSyntheticArchive(bundle, new OciArchiveWriter(createWriteStream(path)));
    const { stdout } = await run('tar', ['-tf', path]);
    const blob = (d: string): string => `blobs/sha256/${digestHex(d as `sha256:${string}`)}`;
    expect(stdout.trim().split('\n')).toEqual([
      ...bundle.layers.map((l) => blob(l.digest)),
      blob(sha256Digest(bundle.config)),
      blob(sha256Digest(bundle.manifest)),
      'index.json',
      'oci-layout',
      'manifest.json',
      TOC_NAME,
    ]);
    const bytes = await readFile(path);
    expect(bytes.length).toBe(written.size);
    expect(bytes.length % 512).toBe(0);
    // Every entry's data is where the table of contents says.
    for (const entry of written.entries) {
      const data = bytes.subarray(entry.offset, entry.offset + entry.size);
      if (entry.name === 'index.json') expect(data.equals(bundle.index)).toBe(true);
      if (entry.name.startsWith('blobs/')) expect(`blobs/sha256/${digestHex(sha256Digest(data))}`).toBe(entry.name);
    }
    const docker = JSON.parse((await run('tar', ['-xOf', path, 'manifest.json'])).stdout) as unknown;
    expect(docker).toEqual([
      { Config: blob(sha256Digest(bundle.config)), RepoTags: ['charon:local'], Layers: bundle.layers.map((l) => blob(l.digest)) },
    ]);
    expect(written.metadataOffset).toBe(written.entries.find((e) => e.name === blob(sha256Digest(bundle.config)))!.offset - 512);
  });

  it('is read by range: one read of the tail gives index, manifest and config; a layer costs one read of its own', async () => {
    const bundle = syntheticBundle([300_000, 200_000, 4_000]);
    const path = join(await dirs.make(), 'bundle.tar');
    await writeSyntheticArchive(bundle, new OciArchiveWriter(createWriteStream(path)));
    const { source, reads } = await recordingSource(path);
    const opened = await OciArchiveReader.open(source);
    if (opened.kind !== 'oci-archive') throw new Error(`read as ${opened.kind}`);
    const reader = opened.reader;
    expect(reads).toEqual([[source.size - 256 * 1024, source.size]]);
    expect((await reader.entryBytes('index.json', 1 << 20)).equals(bundle.index)).toBe(true);
    expect((await reader.entryBytes(`blobs/sha256/${digestHex(sha256Digest(bundle.manifest))}`, 1 << 20)).equals(bundle.manifest)).toBe(true);
    expect(reads).toHaveLength(1);
    // The top layer lies in the tail already; the bottom one is fetched from its header on.
    const bottom = bundle.layers[0]!;
    expect((await collect(reader.openEntry(`blobs/sha256/${digestHex(bottom.digest)}`))).equals(bottom.bytes)).toBe(true);
    const entry = reader.entry(`blobs/sha256/${digestHex(bottom.digest)}`)!;
    expect(reads[1]).toEqual([entry.offset - 512, entry.offset + entry.size]);
    expect(reads).toHaveLength(2);
  });

  it('reads back far when the metadata is larger than the first read, in a second request', async () => {
    const bundle = syntheticBundle([100_000, 2_000]);
    const path = join(await dirs.make(), 'bundle.tar');
    await writeSyntheticArchive(bundle, new OciArchiveWriter(createWriteStream(path)));
    const { source, reads } = await recordingSource(path);
    const opened = await OciArchiveReader.open(source, { tailBytes: 1536 });
    if (opened.kind !== 'oci-archive') throw new Error(`read as ${opened.kind}`);
    expect(reads.length).toBeGreaterThanOrEqual(2);
    expect((await opened.reader.entryBytes('index.json', 1 << 20)).equals(bundle.index)).toBe(true);
  });

  it('tells a zip (the earlier artifact form) from an archive, and refuses a table of contents that lies', async () => {
    const dir = await dirs.make();
    await writeFile(join(dir, 'a.txt'), 'zip me');
    await run('python3', ['-c', `import zipfile; z=zipfile.ZipFile('${join(dir, 'old.zip')}','w'); z.write('${join(dir, 'a.txt')}','oci-layout'); z.close()`]);
    expect((await OciArchiveReader.open(await fileRangeSource(join(dir, 'old.zip')))).kind).toBe('zip');
    await writeFile(join(dir, 'other.bin'), Buffer.alloc(4096, 7));
    expect((await OciArchiveReader.open(await fileRangeSource(join(dir, 'other.bin')))).kind).toBe('unknown');

    const bundle = syntheticBundle([50_000]);
    const path = join(dir, 'bundle.tar');
    const written = await writeSyntheticArchive(bundle, new OciArchiveWriter(createWriteStream(path)));
    // Point the config's entry at the layer's data: the tar header there names another entry.
    const configName = `blobs/sha256/${digestHex(sha256Digest(bundle.config))}`;
    const layerEntry = written.entries.find((e) => e.name === `blobs/sha256/${digestHex(bundle.layers[0]!.digest)}`)!;
    const rewrite = async (file: string, change: (e: TocEntry) => TocEntry): Promise<string> => {
      const bytes = await readFile(path);
      const located = locateToc(bytes, 0, bytes.length)!;
      const toc = serializeToc({ metadataOffset: written.metadataOffset, entries: written.entries.map(change) });
      expect(toc.length).toBe(bytes.length - 1024 - located.tocOffset - 512);
      toc.copy(bytes, located.tocOffset + 512);
      await writeFile(join(dir, file), bytes);
      return join(dir, file);
    };
    const lying = await rewrite('lying.tar', (e) => (e.name === configName ? { ...e, offset: layerEntry.offset } : e));
    const opened = await OciArchiveReader.open(await fileRangeSource(lying));
    if (opened.kind !== 'oci-archive') throw new Error(`read as ${opened.kind}`);
    expect((await typedFailure(opened.reader.entryBytes(configName, 1 << 20), 'BUNDLE_MALFORMED')).message).toContain('the tar header there says');
    const outside = await rewrite('outside.tar', (e) => (e.name === configName ? { ...e, size: 1 << 30 } : e));
    expect((await typedFailure(OciArchiveReader.open(await fileRangeSource(outside)), 'BUNDLE_MALFORMED')).message).toContain('lies outside the archive');
  });

  it('refuses to finish an index that references a blob never written', async () => {
    const bundle = syntheticBundle([1000, 2000]);
    const writer = new OciArchiveWriter(createWriteStream(join(await dirs.make(), 'bundle.tar')));
    await writer.appendBlob(bundle.layers[0]!.digest, 1000, Readable.from([bundle.layers[0]!.bytes]));
    writer.holdBlob(bundle.config);
    writer.holdBlob(bundle.manifest);
    const error = await typedFailure(writer.finish(bundle.index), 'BLOB_MISSING');
    expect(error.message).toContain(bundle.layers[1]!.digest);
  });

  it('writes a blob once however often it is appended, and refuses content of the wrong size', async () => {
    const bundle = syntheticBundle([1000]);
    const writer = new OciArchiveWriter(createWriteStream(join(await dirs.make(), 'bundle.tar')));
    const layer = bundle.layers[0]!;
    expect(await writer.appendBlob(layer.digest, 1000, Readable.from([layer.bytes]))).toBe(true);
    expect(await writer.appendBlob(layer.digest, 1000, Readable.from([layer.bytes]))).toBe(false);
    const other = new OciArchiveWriter(createWriteStream(join(await dirs.make(), 'short.tar')));
    await expect(other.appendBlob(layer.digest, 1001, Readable.from([layer.bytes]))).rejects.toThrow(/1000 of its 1001 bytes/);
  });
});
