import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { CountingStore } from '../../../src/action/counting-store.ts';
import { buildIndex, buildManifest } from '../../../src/bundle/build.ts';
import { MediaType } from '../../../src/bundle/media-types.ts';
import type { Digest } from '../../../src/digest/digest.ts';
import { LocalStore } from '../../../src/store/local/local-store.ts';
import { collect, pattern, tempDirs } from '../core/support.ts';

const temp = tempDirs('counting');
afterEach(temp.cleanup);

async function storeWithBundle(): Promise<{ store: LocalStore; layer: Buffer; layerDigest: Digest; indexBytes: number }> {
  const store = new LocalStore(join(await temp.make(), 'store'));
  const writer = await store.createBundle('docker-image');
  const layer = pattern(70_000, 7);
  const stored = await writer.writeBlob(Readable.from([layer]));
  const config = await writer.putBlob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux' })));
  const manifest = await writer.putBlob(Buffer.from(buildManifest({ config, layers: [{ mediaType: MediaType.ociLayer, digest: stored.digest, size: stored.size }] })));
  const index = buildIndex(
    [{ manifest, tags: ['charon:local'], qualifiedNames: ['docker.io/library/charon:local'], imageId: config.digest, sourceId: undefined, sourceRef: undefined, platform: undefined }],
    { created: new Date(0), producer: {} },
  );
  await writer.publish(index);
  return { store, layer, layerDigest: stored.digest, indexBytes: index.length };
}

describe('CountingStore', () => {
  it('counts blobs read as streams and the index', async () => {
    const { store, layer, layerDigest, indexBytes } = await storeWithBundle();
    const counting = new CountingStore(store);
    const source = await counting.openBundle('docker-image');
    await source.readIndex();
    expect((await collect(await source.openBlob(layerDigest))).equals(layer)).toBe(true);
    expect(counting.bytesRead).toBe(indexBytes + layer.length);
  });

  it('hands out a blob as its file, as the store it wraps does, and counts the file', async () => {
    const { store, layer, layerDigest } = await storeWithBundle();
    const counting = new CountingStore(store);
    const source = await counting.openBundle('docker-image');
    expect('blobFile' in source).toBe(true);
    const path = await source.blobFile!(layerDigest);
    expect((await readFile(path)).equals(layer)).toBe(true);
    expect(counting.bytesRead).toBe(layer.length);
  });
});
