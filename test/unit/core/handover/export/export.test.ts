import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportImages } from '../../../../../src/handover/export/export.ts';
import { loadBundle } from '../../../../../src/handover/load/load.ts';
import { LocalStore } from '../../../../../src/store/local/local-store.ts';
import { FakeEngine } from '../../../../support/fake-engine.ts';
import { tempDirs, typedFailure } from '../../support.ts';
import { appLayers } from '../flow-fixtures.ts';

/** The export flow against an engine in memory: no root, no Docker. */

const temp = tempDirs('export-flow');
afterEach(temp.cleanup);

let engine: FakeEngine;
let store: LocalStore;
let root: string;

beforeEach(async () => {
  engine = new FakeEngine();
  engine.addImage('charon-build:1', await appLayers());
  root = join(await temp.make(), 'store');
  store = new LocalStore(root);
});

const exportApp = (options: Partial<Parameters<typeof exportImages>[0]> = {}): ReturnType<typeof exportImages> =>
  exportImages({ store, source: { engine, references: ['charon-build:1'] }, tag: 'charon:local', headStartBytes: 'off', ...options });

describe('exportImages (flow, fake engine)', () => {
  it('accounts for the bytes read, stored and newly written; a second export writes only the index', async () => {
    const first = await exportApp();
    const save = (await engine.saveImages(['charon-build:1'])) as AsyncIterable<Buffer>;
    let saveBytes = 0;
    for await (const chunk of save) saveBytes += chunk.length;
    expect(first.bytes.read).toBe(saveBytes);
    expect(first.bytes.written).toBe(first.bytes.stored);
    const image = first.images[0]!;
    expect(image).toMatchObject({ tags: ['charon:local'], layers: 3, sourceRef: 'charon-build:1' });
    expect(image.uncompressedBytes).toBe([...engine.layers.values()].reduce((sum, tar) => sum + tar.length, 0));
    expect(image.storedBytes).toBeLessThan(image.uncompressedBytes); // zstd by default
    const second = await exportApp({ now: new Date(0) });
    expect(second.bytes.stored).toBe(first.bytes.stored); // the same blobs, an index of the same length
    expect(second.bytes.written).toBeLessThan(1024); // the index alone
    expect(second.images[0]!.manifestDigest).toBe(image.manifestDigest);
  });

  it('hashes each borrowed chunk before the engine reuses its buffer: the bundle loads elsewhere as the same image', async () => {
    const exported = await exportApp({ compression: 'gzip' });
    const consumer = new FakeEngine();
    const loaded = await loadBundle({ store, engine: consumer, expect: exported.bundleDigest });
    expect(loaded.images[0]!.imageId).toBe(exported.images[0]!.imageId);
    expect(consumer.tags.get('charon:local')).toBe(exported.images[0]!.imageId);
  });

  it('gives the bottom layer a head start: the same bundle, the bottom image saved beside the full save and removed', async () => {
    const plain = await exportApp();
    const head = await exportApp({ headStartBytes: 1 });
    expect(head.images[0]!.manifestDigest).toBe(plain.images[0]!.manifestDigest);
    expect(Object.keys(head.timings.phases)).toContain('head start');
    const saves = engine.calls.filter((c) => c.call === 'save').slice(1);
    expect(saves).toHaveLength(2);
    expect(saves.some((c) => c.call === 'save' && c.references[0]!.startsWith('sha256:'))).toBe(true);
    expect(engine.calls.filter((c) => c.call === 'remove')).toHaveLength(1);
    expect(engine.helperImages()).toEqual([]);
    // Both saves are read; the bottom layer's bytes in the full save are passed over.
    expect(head.bytes.read).toBeGreaterThan(plain.bytes.read);
  });

  it('falls back to the plain save when the engine declines the bottom image, or cannot save it', async () => {
    const plain = await exportApp();
    engine.faults = { refuseLoadWithLabel: 'io.github.image-handover.partial-of' };
    const declined = await exportApp({ headStartBytes: 1 });
    expect(declined.images[0]!.manifestDigest).toBe(plain.images[0]!.manifestDigest);
    engine.faults = { refuseSave: (refs) => refs.length === 1 && refs[0]!.startsWith('sha256:') };
    const unsaved = await exportApp({ headStartBytes: 1 });
    expect(unsaved.images[0]!.manifestDigest).toBe(plain.images[0]!.manifestDigest);
    expect(engine.helperImages()).toEqual([]);
  });

  it('goes without the head start when the engine cannot tell the image\'s history', async () => {
    engine.faults = { refuseHistory: true };
    const result = await exportApp({ headStartBytes: 1 });
    expect(Object.keys(result.timings.phases)).not.toContain('head start');
    expect(result.images[0]!.layers).toBe(3);
  });

  it('gives no head start below the threshold', async () => {
    const result = await exportApp({ headStartBytes: 10 * 1024 * 1024 });
    expect(Object.keys(result.timings.phases)).not.toContain('head start');
    expect(engine.calls.filter((c) => c.call === 'save')).toHaveLength(1);
  });

  it('refuses an empty or malformed reference before asking the engine anything', async () => {
    await typedFailure(exportImages({ store, source: { engine, references: [''] } }), 'REF_EMPTY');
    await typedFailure(exportImages({ store, source: { engine, references: ['Bad Ref'] } }), 'REF_INVALID');
    await typedFailure(exportImages({ store, source: { engine, references: ['a:1', 'b:1'] }, tag: 'charon:local' }), 'USAGE');
    await typedFailure(exportImages({ store, source: { engine, references: ['charon-build:1'] }, tag: '' }), 'REF_EMPTY');
    expect(engine.calls).toEqual([]);
    await expect(readdir(root)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('publishes nothing for a missing image, or when interrupted mid-save (and leaves no helper image)', async () => {
    await typedFailure(exportApp({ source: { engine, references: ['missing:1'] } }), 'IMAGE_NOT_FOUND');
    const controller = new AbortController();
    engine.faults = { onSave: (refs) => refs[0] === 'charon-build:1' && controller.abort(new Error('interrupted by SIGINT')) };
    await expect(exportApp({ headStartBytes: 1, signal: controller.signal })).rejects.toThrow('interrupted by SIGINT');
    expect(engine.calls.filter((c) => c.call === 'save')).toHaveLength(2); // the bottom's and the full one
    expect(await store.list()).toEqual([]);
    expect(engine.helperImages()).toEqual([]);
  });
});
