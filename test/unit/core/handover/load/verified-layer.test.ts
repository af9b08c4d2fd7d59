import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MediaType } from '../../../../../src/bundle/media-types.ts';
import { sha256Digest, type Digest } from '../../../../../src/digest/digest.ts';
import { startZstdDecompression } from '../../../../../src/compression/decompress-file.ts';
import { verifiedLayer, type LayerReading } from '../../../../../src/handover/load/verified-layer.ts';
import type { BundleSource } from '../../../../../src/store/store.ts';
import { collect, pattern, tempDirs, typedFailure } from '../../support.ts';

const temp = tempDirs('verified-layer');
const savedTmpdir = process.env['TMPDIR'];
afterEach(async () => {
  if (savedTmpdir === undefined) delete process.env['TMPDIR'];
  else process.env['TMPDIR'] = savedTmpdir;
  await temp.cleanup();
});

async function layerFile(content: Buffer): Promise<{ source: BundleSource; digest: Digest; size: number }> {
  const compressed = spawnSync('zstd', ['-3', '-q', '-c'], { input: content, maxBuffer: 64 * 1024 * 1024 }).stdout;
  const digest = sha256Digest(compressed);
  const path = join(await temp.make(), 'blob');
  await writeFile(path, compressed);
  const source: BundleSource = {
    name: 'docker-image',
    location: path,
    readIndex: () => Promise.reject(new Error('not needed')),
    openBlob: () => Promise.resolve(createReadStream(path)),
    blobFile: () => Promise.resolve(path),
    close: () => Promise.resolve(),
  };
  return { source, digest, size: compressed.length };
}

const reading: LayerReading = { zstd: 'command', onBytes: () => undefined, engineReadsZstd: false };

describe('verifiedLayer', () => {
  it('streams a zstd layer through the zstd command, and in process when no private socket can be made', async () => {
    const content = pattern(3 * 1024 * 1024, 11);
    const { source, digest, size } = await layerFile(content);
    const layer = { mediaType: MediaType.ociLayerZstd, digest, size };
    expect((await collect(verifiedLayer(source, layer, content.length, 'layer 1', reading))).equals(content)).toBe(true);

    process.env['TMPDIR'] = join(await temp.make(), 'missing', 'dir');
    await expect(startZstdDecompression('/dev/null')).rejects.toMatchObject({ code: 'ENOENT' });
    let counted = 0;
    expect((await collect(verifiedLayer(source, layer, content.length, 'layer 1', { ...reading, onBytes: (n) => (counted += n) }))).equals(content)).toBe(true);
    expect(counted).toBe(content.length);
  });

  it('refuses a layer longer than recorded, and a blob that is not the recorded one, with typed errors', async () => {
    const content = pattern(1024 * 1024, 12);
    const { source, digest, size } = await layerFile(content);
    await typedFailure(collect(verifiedLayer(source, { mediaType: MediaType.ociLayerZstd, digest, size }, 1000, 'layer 1', reading)), 'BLOB_SIZE_MISMATCH');
    const other = sha256Digest('another blob');
    await typedFailure(collect(verifiedLayer(source, { mediaType: MediaType.ociLayerZstd, digest: other, size }, content.length, 'layer 1', reading)), 'BLOB_DIGEST_MISMATCH');
  });
});
