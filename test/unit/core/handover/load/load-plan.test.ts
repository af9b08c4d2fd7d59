import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Annotation } from '../../../../../src/bundle/annotations.ts';
import { MediaType } from '../../../../../src/bundle/media-types.ts';
import type { Descriptor } from '../../../../../src/bundle/model.ts';
import { sha256Digest, type Digest } from '../../../../../src/digest/digest.ts';
import type { ResolvedImage } from '../../../../../src/handover/bundle-reader.ts';
import { chainIds } from '../../../../../src/bundle/chain-ids.ts';
import { planLoad, type LoadStep } from '../../../../../src/handover/load/load-plan.ts';
import type { LayerReading } from '../../../../../src/handover/load/verified-layer.ts';
import { PARTIAL_IMAGE_LABEL } from '../../../../../src/handover/helper-images.ts';
import { partialConfig } from '../../../../../src/handover/load/partial-image.ts';
import type { TarFile } from '../../../../../src/archive/tar/tar-writer.ts';
import type { BundleSource } from '../../../../../src/store/store.ts';

const source: BundleSource = {
  name: 'docker-image',
  location: 'memory',
  readIndex: () => Promise.reject(new Error('not read by planning')),
  openBlob: () => Promise.resolve(Readable.from([])),
  close: () => Promise.resolve(),
};

function layer(n: number): Descriptor {
  return { mediaType: MediaType.ociLayerZstd, digest: sha256Digest(`blob ${n}`), size: 100 * n, annotations: { [Annotation.uncompressedSize]: String(1000 * n) } };
}

function image(tag: string, layers: number[], extra: Record<string, unknown> = {}): ResolvedImage {
  const diffIds = layers.map((n) => sha256Digest(`diff ${n}`));
  const history = layers.flatMap((n, i) => [{ created_by: `step ${n}` }, ...(i === 0 ? [{ created_by: 'ENV', empty_layer: true }] : [])]);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { keep: 'me' } }, rootfs: { type: 'layers', diff_ids: diffIds }, history, ...extra }));
  const configDigest = sha256Digest(config);
  const manifestDescriptor = { mediaType: MediaType.ociManifest, digest: sha256Digest(`manifest ${tag}`), size: 1 };
  return {
    entry: { manifest: manifestDescriptor, tags: [tag], imageId: configDigest, sourceId: undefined },
    manifestDescriptor,
    manifestBytes: Buffer.from('{}'),
    manifest: { schemaVersion: 2, mediaType: MediaType.ociManifest, config: { mediaType: MediaType.ociConfig, digest: configDigest, size: config.length }, layers: layers.map(layer) },
    config,
    configDigest,
    parsedConfig: { diffIds, architecture: 'amd64', os: 'linux' },
    platform: { os: 'linux', architecture: 'amd64' },
    index: undefined,
  };
}

function layerPath(chain: string): string {
  return `layers/${chain.slice('sha256:'.length)}.tar`;
}

/** The bytes of a small file of a load archive. */
function text(file: TarFile): string {
  return Buffer.concat([...(file.content() as Iterable<Uint8Array>)]).toString('utf8');
}

function manifestOf(step: LoadStep): unknown {
  expect(step.closing.map((f) => f.name)).toEqual(['manifest.json']);
  return JSON.parse(text(step.closing[0]!));
}

function describeStep(step: LoadStep): { manifest: unknown; files: Array<[string, number]> } {
  return { manifest: manifestOf(step), files: step.files.map((f) => [f.name, f.size]) };
}

const reading: LayerReading = { zstd: 'command', onBytes: () => undefined, engineReadsZstd: false };

describe('planLoad', () => {
  it('staged: one load per missing layer, each a labelled partial image, the last the image itself', () => {
    const app = image('charon:local', [1, 2, 3]);
    const chains = chainIds(app.parsedConfig.diffIds).map(layerPath);
    const plan = planLoad(source, [app], new Set(), 1, reading);
    expect(plan.steps).toHaveLength(3);
    expect(plan.totalBytes).toBe(6000);
    expect(plan.skippedLayers).toBe(0);

    const [first, second, last] = plan.steps.map(describeStep);
    const partial1 = partialConfig(app.config, 1, app.configDigest);
    const partial2 = partialConfig(app.config, 2, app.configDigest);
    expect(plan.steps.map((s) => s.partialImageId)).toEqual([partial1.digest, partial2.digest, undefined]);
    const config = (digest: Digest): string => `config/${digest.slice(7)}.json`;
    expect(first).toEqual({
      manifest: [{ Config: config(partial1.digest), Layers: [chains[0]], RepoTags: null }],
      files: [[config(partial1.digest), partial1.bytes.length], [chains[0], 1000]],
    });
    expect(second).toEqual({
      manifest: [{ Config: config(partial2.digest), Layers: chains.slice(0, 2), RepoTags: null }],
      files: [[config(partial2.digest), partial2.bytes.length], [chains[1], 2000], [chains[0], 0]],
    });
    expect(last).toEqual({
      manifest: [{ Config: config(app.configDigest), Layers: chains, RepoTags: null }],
      files: [[config(app.configDigest), app.config.length], [chains[2], 3000], [chains[0], 0], [chains[1], 0]],
    });
  });

  it('skips layers the engine holds, staged or not, and sends a shared layer once', () => {
    const base = image('base:1', [1, 2]);
    const app = image('app:1', [1, 2, 3, 4]);
    const present = new Set(chainIds(base.parsedConfig.diffIds).slice(0, 1));

    const staged = planLoad(source, [base, app], present, 1, reading);
    expect(staged.skippedLayers).toBe(1);
    expect(staged.skippedBytes).toBe(100);
    expect(staged.totalBytes).toBe(2000 + 3000 + 4000);
    // base: its last layer with the image; app: a partial for layer 3, then layer 4 with the image.
    expect(staged.steps.map((s) => s.files.filter((f) => f.size > 0 && f.name.startsWith('layers/')).map((f) => f.size))).toEqual([[2000], [3000], [4000]]);

    const single = planLoad(source, [base, app], present, undefined, reading);
    expect(single.steps).toHaveLength(1);
    const names = single.steps[0]!.files.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    expect(single.steps[0]!.files.filter((f) => f.size > 0 && f.name.startsWith('layers/')).map((f) => f.size)).toEqual([2000, 3000, 4000]);
    expect((manifestOf(single.steps[0]!) as unknown[]).length).toBe(2);
    expect(single.steps[0]!.partialImageId).toBeUndefined();
  });
  it('lets small layers ride together: a load ends once its layers reach the step size', () => {
    const app = image('charon:local', [1, 2, 3, 4, 5]);
    const chains = chainIds(app.parsedConfig.diffIds).map(layerPath);
    // Uncompressed sizes 1000..5000; a load ends once it carries 3500 bytes or more.
    const plan = planLoad(source, [app], new Set(), 3500, reading);
    const data = plan.steps.map((s) => s.files.filter((f) => f.size > 0 && f.name.startsWith('layers/')).map((f) => f.size));
    expect(data).toEqual([[1000, 2000, 3000], [4000], [5000]]);
    expect(plan.steps.map((s) => (manifestOf(s) as Array<{ Layers: string[] }>)[0]!.Layers)).toEqual([
      chains.slice(0, 3),
      chains.slice(0, 4),
      chains,
    ]);
    expect(plan.steps.map((s) => s.partialImageId === undefined)).toEqual([false, false, true]);
    // Every load names each layer below its top once, with data or as an empty stand-in.
    for (const step of plan.steps) {
      const names = step.files.map((f) => f.name).filter((n) => n.startsWith('layers/'));
      expect(new Set(names).size).toBe(names.length);
    }
  });
});


describe('partialConfig', () => {
  it('keeps the first layers, their history (empty entries between included) and the labels, and adds its own', () => {
    const app = image('charon:local', [1, 2, 3]);
    const partial = partialConfig(app.config, 1, app.configDigest);
    const parsed = JSON.parse(partial.bytes.toString('utf8')) as { rootfs: { diff_ids: string[] }; history: unknown[]; config: { Labels: Record<string, string> }; os: string };
    expect(partial.digest).toBe(sha256Digest(partial.bytes));
    expect(parsed.rootfs.diff_ids).toEqual(app.parsedConfig.diffIds.slice(0, 1));
    expect(parsed.history).toEqual([{ created_by: 'step 1' }, { created_by: 'ENV', empty_layer: true }]);
    expect(parsed.config.Labels).toEqual({ keep: 'me', [PARTIAL_IMAGE_LABEL]: app.configDigest });
    expect(parsed.os).toBe('linux');
    expect(partialConfig(app.config, 2, app.configDigest).digest).not.toBe(partial.digest);
  });
});
