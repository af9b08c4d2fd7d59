import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportImages, type ExportResult } from '../../../../../src/handover/export/export.ts';
import { loadBundle } from '../../../../../src/handover/load/load.ts';
import { LocalStore } from '../../../../../src/store/local/local-store.ts';
import { FakeEngine } from '../../../../support/fake-engine.ts';
import { tempDirs, typedFailure } from '../../support.ts';
import { appLayers, layerTar } from '../flow-fixtures.ts';

/** The load flow against engines in memory: no root, no Docker. */

const temp = tempDirs('load-flow');
afterEach(temp.cleanup);

let producer: FakeEngine;
let consumer: FakeEngine;
let store: LocalStore;
let root: string;
let exported: ExportResult;

beforeEach(async () => {
  producer = new FakeEngine();
  producer.addImage('charon-build:1', await appLayers());
  consumer = new FakeEngine();
  root = join(await temp.make(), 'store');
  store = new LocalStore(root);
  exported = await exportImages({ store, source: { engine: producer, references: ['charon-build:1'] }, tag: 'charon:local', headStartBytes: 'off' });
});

const imageId = (): string => exported.images[0]!.imageId;

/** Flips a byte in the middle of a stored layer: the same size, another digest. */
async function damageLargestLayer(): Promise<void> {
  const bundle = join(root, 'names', 'docker-image');
  const blobs = join(bundle, 'blobs', 'sha256');
  let largest = { path: '', size: 0 };
  for (const name of await readdir(blobs)) {
    const bytes = await readFile(join(blobs, name));
    if (bytes.length > largest.size) largest = { path: join(blobs, name), size: bytes.length };
  }
  const bytes = await readFile(largest.path);
  bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
  // The store links its blobs: write a new file in place of the link.
  await writeFile(`${largest.path}.new`, bytes);
  const { rename } = await import('node:fs/promises');
  await rename(`${largest.path}.new`, largest.path);
}

describe('loadBundle (flow, fake engine)', () => {
  it('loads the exported image under its id, and tags it only after every load and the check', async () => {
    const result = await loadBundle({ store, engine: consumer, expect: exported.bundleDigest, requireTags: ['charon:local'] });
    expect(result.images).toEqual([{ tags: ['charon:local'], imageId: imageId(), layers: 3, previous: { 'charon:local': null } }]);
    expect(consumer.tags.get('charon:local')).toBe(imageId());
    const order = consumer.calls.map((c) => c.call);
    expect(order.lastIndexOf('load')).toBeLessThan(order.indexOf('tag'));
    expect(result.bytes.loaded).toBe(exported.images[0]!.uncompressedBytes);
    expect(result.verified).toBe(true);
  });

  it('with a load per layer, leaves no partial image behind', async () => {
    const result = await loadBundle({ store, engine: consumer, stepBytes: 1 });
    expect(consumer.calls.filter((c) => c.call === 'load')).toHaveLength(3);
    expect(consumer.calls.filter((c) => c.call === 'remove')).toHaveLength(2);
    expect(consumer.helperImages()).toEqual([]);
    expect(result.images[0]!.imageId).toBe(imageId());
  });

  it('sends no layer the engine already holds', async () => {
    const [bottom] = await appLayers();
    consumer.addImage('base:1', [bottom!]);
    const result = await loadBundle({ store, engine: consumer });
    expect(result.skippedLayers).toBe(1);
    expect(result.bytes.skipped).toBeGreaterThan(0);
    expect(result.bytes.loaded).toBe(exported.images[0]!.uncompressedBytes - bottom!.length);
  });

  it('refuses another bundle than the pinned one, or one without a required tag, before loading anything', async () => {
    await typedFailure(loadBundle({ store, engine: consumer, expect: `sha256:${'0'.repeat(64)}` }), 'BUNDLE_DIGEST_MISMATCH');
    await typedFailure(loadBundle({ store, engine: consumer, requireTags: ['charon:other'] }), 'VERIFY_FAILED');
    expect(consumer.calls).toEqual([]);
  });

  it('a damaged layer: refused, nothing tagged, the previous image keeps the tag, no partial image left', async () => {
    const previous = consumer.addImage('charon:local', [await layerTar(9, [1000])]);
    await damageLargestLayer();
    await typedFailure(loadBundle({ store, engine: consumer, stepBytes: 1 }), 'BLOB_DIGEST_MISMATCH');
    expect(consumer.tags.get('charon:local')).toBe(previous);
    expect(consumer.calls.filter((c) => c.call === 'tag')).toEqual([]);
    expect(consumer.helperImages()).toEqual([]);
    expect(consumer.images.has(imageId())).toBe(false);
  });

  it('an engine whose API is too old: ENGINE_TOO_OLD naming the version it speaks and the one needed, before anything is read', async () => {
    consumer.apiVersion = '1.24';
    const error = await typedFailure(loadBundle({ store, engine: consumer }), 'ENGINE_TOO_OLD');
    expect(error.message).toContain('speaks Docker Engine API 1.24');
    expect(error.message).toContain('needs API 1.25 or later');
    expect(error.exitStatus).toBe(4);
    expect(consumer.calls).toEqual([]);
    producer.apiVersion = '1.12';
    await typedFailure(exportImages({ store, source: { engine: producer, references: ['charon-build:1'] } }), 'ENGINE_TOO_OLD');
  });

  it('an engine that stops mid-load: ENGINE_LOAD_FAILED, nothing tagged, no partial image left', async () => {
    consumer.faults = { breakLoadAfterBytes: 200_000 };
    await typedFailure(loadBundle({ store, engine: consumer, stepBytes: 1 }), 'ENGINE_LOAD_FAILED');
    expect(consumer.tags.has('charon:local')).toBe(false);
    expect(consumer.helperImages()).toEqual([]);
  });

  it('an interrupt mid-load: nothing tagged, no partial image left', async () => {
    const controller = new AbortController();
    const loading = loadBundle({ store, engine: consumer, stepBytes: 1, signal: controller.signal, onProgress: () => controller.abort(new Error('interrupted by SIGTERM')) });
    await expect(loading).rejects.toThrow();
    expect(consumer.tags.has('charon:local')).toBe(false);
    expect(consumer.helperImages()).toEqual([]);
  });
});
