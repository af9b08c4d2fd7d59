import { lstat, mkdir, readdir, readFile, readlink, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildIndex, buildManifest } from '../../../../src/bundle/build.ts';
import { MediaType } from '../../../../src/bundle/media-types.ts';
import { digestHex, sha256Digest, type Digest } from '../../../../src/digest/digest.ts';
import { ExitStatus } from '../../../../src/errors.ts';
import { pathExists } from '../../../../src/store/layout/blob-directory.ts';
import { LayoutSource, MAX_INDEX_BYTES } from '../../../../src/store/layout/layout-source.ts';
import { LocalStore } from '../../../../src/store/local/local-store.ts';
import type { BundleSource, BundleWriter } from '../../../../src/store/store.ts';
import { chunked, collect, pattern, tempDirs, typedFailure } from '../support.ts';

const temp = tempDirs('store');
afterEach(temp.cleanup);

let root: string;
let store: LocalStore;

beforeEach(async () => {
  root = join(await temp.make(), 'store');
  store = new LocalStore(root);
});

/** Whether the store holds a blob. */
async function held(digest: Digest): Promise<boolean> {
  return await pathExists(join(root, 'blobs', 'sha256', digestHex(digest)));
}

interface Exported {
  index: Uint8Array;
  digest: Digest;
  blobs: Map<Digest, Buffer>;
}

/** Writes a bundle the way export does: layers streamed, config and manifest put, index published. */
async function exportLike(writer: BundleWriter, seed: number, tag = 'charon:local'): Promise<Exported> {
  const blobs = new Map<Digest, Buffer>();
  const layers = [];
  for (const size of [70_000, 513, 0]) {
    const data = pattern(size, seed * 10 + size);
    const stored = await writer.writeBlob(Readable.from(chunked(data)), { expected: { digest: sha256Digest(data), size } });
    blobs.set(stored.digest, data);
    layers.push({ mediaType: MediaType.ociLayer, digest: stored.digest, size: stored.size });
  }
  const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
  const config = await writer.putBlob(configBytes);
  blobs.set(config.digest, configBytes);
  const manifestBytes = Buffer.from(buildManifest({ config, layers }));
  const manifest = await writer.putBlob(manifestBytes);
  blobs.set(manifest.digest, manifestBytes);
  const index = buildIndex(
    [{ manifest, tags: [tag], qualifiedNames: [`docker.io/library/${tag}`], imageId: config.digest, sourceId: undefined, sourceRef: undefined, platform: undefined }],
    { created: new Date(0), producer: {} },
  );
  return { index, digest: sha256Digest(index), blobs };
}

async function readWhole(source: BundleSource, exported: Exported): Promise<void> {
  expect(Buffer.from(await source.readIndex()).equals(Buffer.from(exported.index))).toBe(true);
  for (const [digest, data] of exported.blobs) expect((await collect(await source.openBlob(digest))).equals(data)).toBe(true);
}

describe('LocalStore: writing and publishing', () => {
  it('publishes bundles/<hex> with hard-linked blobs and names/<name> as a symlink', async () => {
    const writer = await store.createBundle('docker-image');
    const exported = await exportLike(writer, 1);
    const published = await writer.publish(exported.index);
    await writer.discard();
    expect(published).toMatchObject({ name: 'docker-image', digest: exported.digest, location: join(root, 'bundles', digestHex(exported.digest)) });
    expect(await readlink(join(root, 'names', 'docker-image'))).toBe(`../bundles/${digestHex(exported.digest)}`);
    const bundle = published.location;
    expect((await readdir(bundle)).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);
    expect(JSON.parse(await readFile(join(bundle, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
    expect((await readFile(join(bundle, 'index.json'))).equals(Buffer.from(exported.index))).toBe(true);
    const inBundle = (await readdir(join(bundle, 'blobs', 'sha256'))).sort();
    expect(inBundle).toEqual([...exported.blobs.keys()].map(digestHex).sort());
    for (const hex of inBundle) {
      const [linked, shared] = [await stat(join(bundle, 'blobs', 'sha256', hex)), await stat(join(root, 'blobs', 'sha256', hex))];
      expect(linked.ino).toBe(shared.ino);
      expect(linked.nlink).toBe(2);
    }
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('does not write a blob twice', async () => {
    const writer = await store.createBundle('a');
    const data = pattern(5000);
    const first = await writer.writeBlob(Readable.from([data]));
    const second = await writer.writeBlob(Readable.from(chunked(data)));
    expect([first.written, second.written]).toEqual([true, false]);
    expect(second).toMatchObject({ digest: sha256Digest(data), size: 5000 });
    expect(await writer.putBlob(data)).toMatchObject({ written: false, digest: sha256Digest(data) });
    expect(await held(sha256Digest(data))).toBe(true);
    expect(await held(sha256Digest('other'))).toBe(false);
    const small = await writer.putBlob(Buffer.from('{}'));
    expect(small.written).toBe(true);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('a second bundle with the same layers links the same blobs (nlink 3)', async () => {
    const a = await exportLike(await store.createBundle('a'), 2, 'a:1');
    const published = await (await store.createBundle('a')).publish(a.index);
    const b = await exportLike(await store.createBundle('b'), 2, 'b:1');
    await (await store.createBundle('b')).publish(b.index);
    const layer = [...a.blobs.keys()][0]!;
    expect((await stat(join(published.location, 'blobs', 'sha256', digestHex(layer)))).nlink).toBe(3);
  });

  it('refuses an altered or truncated blob and leaves nothing behind', async () => {
    const writer = await store.createBundle('a');
    const data = pattern(3000);
    const altered = Buffer.from(data);
    altered[10] = altered[10]! ^ 1;
    const error = await typedFailure(writer.writeBlob(Readable.from([altered]), { expected: { digest: sha256Digest(data), size: data.length } }), 'BLOB_DIGEST_MISMATCH');
    expect(error.exitStatus).toBe(ExitStatus.integrity);
    await typedFailure(writer.writeBlob(Readable.from([data.subarray(1)]), { expected: { digest: sha256Digest(data), size: data.length } }), 'BLOB_SIZE_MISMATCH');
    expect(await held(sha256Digest(data))).toBe(false);
    expect(await held(sha256Digest(altered))).toBe(false);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('an aborted blob write leaves no temporary file', async () => {
    const writer = await store.createBundle('a');
    const controller = new AbortController();
    const endless = new Readable({
      read() {
        setTimeout(() => this.push(Buffer.alloc(1024)), 1);
      },
    });
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await expect(writer.writeBlob(endless, { signal: controller.signal })).rejects.toThrow();
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
  });

  it('publishing an index whose manifest the store lacks fails and names nothing', async () => {
    const writer = await store.createBundle('broken');
    const manifest = Buffer.from(buildManifest({ config: { digest: sha256Digest('c'), size: 1 }, layers: [] }));
    const index = buildIndex(
      [{ manifest: { digest: sha256Digest(manifest), size: manifest.length }, tags: ['x:1'], qualifiedNames: ['docker.io/library/x:1'], imageId: sha256Digest('c'), sourceId: undefined, sourceRef: undefined, platform: undefined }],
      { created: new Date(0), producer: {} },
    );
    await typedFailure(writer.publish(index), 'BLOB_MISSING');
    expect(await store.list()).toEqual([]);
    expect(await readdir(join(root, 'tmp'))).toEqual([]);
    expect(await readdir(join(root, 'bundles'))).toEqual([]);
  });
});

describe('LocalStore: reading', () => {
  it('opens a published bundle and reads every blob', async () => {
    const writer = await store.createBundle('docker-image');
    const exported = await exportLike(writer, 3);
    await writer.publish(exported.index);
    const source = await store.openBundle('docker-image');
    expect(source.name).toBe('docker-image');
    await readWhole(source, exported);
    await source.close();
  });

  it('replacing a name is atomic: a reader opened before keeps reading the old whole bundle', async () => {
    const first = await exportLike(await store.createBundle('docker-image'), 4, 'charon:old');
    await (await store.createBundle('docker-image')).publish(first.index);
    const before = await store.openBundle('docker-image');
    const firstBlob = await before.openBlob([...first.blobs.keys()][0]!);

    const second = await exportLike(await store.createBundle('docker-image'), 5, 'charon:new');
    const published = await (await store.createBundle('docker-image')).publish(second.index);
    expect(published.digest).not.toBe(first.digest);

    expect((await collect(firstBlob)).equals([...first.blobs.values()][0]!)).toBe(true);
    await readWhole(before, first);
    const after = await store.openBundle('docker-image');
    await readWhole(after, second);
    expect(await readlink(join(root, 'names', 'docker-image'))).toBe(`../bundles/${digestHex(second.digest)}`);
    expect((await readdir(join(root, 'names'))).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('concurrent publishes of one name leave exactly one whole bundle', async () => {
    const bundles = await Promise.all([6, 7, 8, 9].map(async (seed) => await exportLike(await store.createBundle('race'), seed, `r:${seed}`)));
    await Promise.all(bundles.map(async (b) => await (await store.createBundle('race')).publish(b.index)));
    const [listing] = await store.list();
    const winner = bundles.find((b) => b.digest === listing!.digest);
    expect(winner).toBeDefined();
    await readWhole(await store.openBundle('race'), winner!);
    // The same bundle published twice at once is one directory.
    await Promise.all([1, 2].map(async () => await (await store.createBundle('same')).publish(bundles[0]!.index)));
    expect((await store.openBundle('same')).location).toBe(store.bundleDirectory(bundles[0]!.digest));
  });

  it('lists names in order with their digests, ignoring temporary pointers', async () => {
    const b = await exportLike(await store.createBundle('b-bundle'), 10);
    await (await store.createBundle('b-bundle')).publish(b.index);
    await (await store.createBundle('a-bundle')).publish(b.index);
    await symlink('../bundles/nothing', join(root, 'names', '.a-bundle-123-tmp'));
    const listing = await store.list();
    expect(listing.map((l) => [l.name, l.digest, l.location])).toEqual([
      ['a-bundle', b.digest, store.bundleDirectory(b.digest)],
      ['b-bundle', b.digest, store.bundleDirectory(b.digest)],
    ]);
    expect(listing[0]!.updatedAt).toBeInstanceOf(Date);
  });

  it('an existing store without bundles lists nothing', async () => {
    await mkdir(root);
    expect(await store.list()).toEqual([]);
  });

  it('a missing name is BUNDLE_NOT_FOUND (exit 3) naming what exists', async () => {
    const b = await exportLike(await store.createBundle('one'), 11);
    await (await store.createBundle('one')).publish(b.index);
    await (await store.createBundle('two')).publish(b.index);
    const error = await typedFailure(store.openBundle('three'), 'BUNDLE_NOT_FOUND');
    expect(error.exitStatus).toBe(ExitStatus.notFound);
    expect(error.message).toContain("'three'");
    expect(error.hint).toBe('The store has: one, two.');
    expect(error.details).toMatchObject({ name: 'three', available: ['one', 'two'] });
  });

  it('a missing name in an empty store says to export first', async () => {
    await store.createBundle('x');
    const error = await typedFailure(store.openBundle('docker-image'), 'BUNDLE_NOT_FOUND');
    expect(error.hint).toMatch(/store is empty/);
  });

  it('a missing store is STORE_NOT_FOUND (exit 3)', async () => {
    const error = await typedFailure(store.openBundle('docker-image'), 'STORE_NOT_FOUND');
    expect(error.exitStatus).toBe(ExitStatus.notFound);
    expect(error.message).toContain(root);
    await typedFailure(store.list(), 'STORE_NOT_FOUND');
  });

  it('a store path that is a file is a clear error for every operation', async () => {
    await writeFile(root, 'not a directory');
    for (const work of [() => store.createBundle('x'), () => store.openBundle('x'), () => store.list()]) {
      const error = await typedFailure(work, 'STORE_NOT_FOUND');
      expect(error.message).toContain('is a file, not a directory');
      expect(error.hint).toMatch(/--store/);
    }
    const below = new LocalStore(join(root, 'sub'));
    await expect(below.createBundle('x')).rejects.toMatchObject({ code: 'STORE_NOT_FOUND' });
  });

  it.each([[''], ['../escape'], ['.hidden'], ['a/b'], ['a..b'], ['x'.repeat(129)]])('refuses the bundle name %j (NAME_INVALID)', async (name) => {
    await typedFailure(store.createBundle(name), 'NAME_INVALID');
    await typedFailure(store.openBundle(name), 'NAME_INVALID');
  });

  it('a name entry that is not a bundle link is STORE_IO', async () => {
    await store.createBundle('x');
    await writeFile(join(root, 'names', 'plain'), 'x');
    await symlink('/etc', join(root, 'names', 'outside'));
    expect((await typedFailure(store.openBundle('plain'), 'STORE_IO')).message).toMatch(/not a bundle link/);
    expect((await typedFailure(store.openBundle('outside'), 'STORE_IO')).message).toMatch(/points outside/);
  });
});

describe('LayoutSource', () => {
  let dir: string;
  let source: LayoutSource;
  const data = Buffer.from('blob content');
  const digest = sha256Digest(data);

  beforeEach(async () => {
    dir = await temp.make();
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    await writeFile(join(dir, 'blobs', 'sha256', digestHex(digest)), data);
    await writeFile(join(dir, 'index.json'), '{}');
    source = new LayoutSource('test', dir);
  });

  it('reads a regular blob and the index', async () => {
    expect((await collect(await source.openBlob(digest))).equals(data)).toBe(true);
    expect(Buffer.from(await source.readIndex()).toString()).toBe('{}');
  });

  it('refuses a blob that is a symlink, even to a good file (PATH_UNSAFE)', async () => {
    const outside = join(await temp.make(), 'secret');
    await writeFile(outside, data);
    await rm(join(dir, 'blobs', 'sha256', digestHex(digest)));
    await symlink(outside, join(dir, 'blobs', 'sha256', digestHex(digest)));
    const error = await typedFailure(source.openBlob(digest), 'PATH_UNSAFE');
    expect(error.exitStatus).toBe(ExitStatus.integrity);
    expect(error.message).toContain('not a regular file');
  });

  it('refuses a blob that is a directory (PATH_UNSAFE)', async () => {
    const other = sha256Digest('dir');
    await mkdir(join(dir, 'blobs', 'sha256', digestHex(other)));
    await typedFailure(source.openBlob(other), 'PATH_UNSAFE');
  });

  it('reports a missing blob (BLOB_MISSING, exit 5)', async () => {
    const missing = sha256Digest('missing');
    const error = await typedFailure(source.openBlob(missing), 'BLOB_MISSING');
    expect(error.exitStatus).toBe(ExitStatus.integrity);
    expect(error.details).toEqual({ digest: missing });
  });

  it(`refuses an index over ${MAX_INDEX_BYTES} bytes before reading it (LIMIT_EXCEEDED)`, async () => {
    await truncate(join(dir, 'index.json'), MAX_INDEX_BYTES + 1);
    const error = await typedFailure(source.readIndex(), 'LIMIT_EXCEEDED');
    expect(error.message).toContain(String(MAX_INDEX_BYTES + 1));
    await truncate(join(dir, 'index.json'), MAX_INDEX_BYTES);
    expect((await source.readIndex()).length).toBe(MAX_INDEX_BYTES);
  });

  it('a missing index is BUNDLE_NOT_FOUND', async () => {
    await rm(join(dir, 'index.json'));
    await typedFailure(source.readIndex(), 'BUNDLE_NOT_FOUND');
  });

  it('close runs the release callback', async () => {
    let closed = false;
    await new LayoutSource('x', dir, async () => {
      closed = true;
      await Promise.resolve();
    }).close();
    expect(closed).toBe(true);
    expect((await lstat(dir)).isDirectory()).toBe(true);
  });
});
