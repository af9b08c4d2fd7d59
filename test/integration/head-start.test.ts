import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, json } from '../support/cli.ts';
import { forEachEngineKind, namedEngines } from '../support/engine-matrix.ts';
import { writeTar, type TarFile } from '../../src/archive/tar/tar-writer.ts';
import { digestHex, sha256Digest } from '../../src/digest/digest.ts';
import { DockerEngine } from '../../src/engine/docker-engine.ts';
import { parseDockerHost } from '../../src/engine/docker-host.ts';
import { EngineRequestError } from '../../src/errors.ts';
import { exportImages } from '../../src/handover/export/export.ts';
import type { BorrowedChunks } from '../../src/io/borrowed-chunks.ts';
import { LocalStore } from '../../src/store/local/local-store.ts';
import { docker, imageId, removeImages, runContainer } from '../support/docker.ts';
import { sharedTestImages, type TestImages } from '../support/images.ts';

interface ExportJson {
  images: Array<{ manifestDigest: string; layers: number }>;
  bytes: { read: number; stored: number };
  timings: { phases: Record<string, number> };
}

forEachEngineKind((_kind, kindEngines) => {
  const engines = namedEngines(kindEngines);
  const producer = { DOCKER_HOST: engines.producer };
  let images: TestImages;
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'handover-head-'));
    images = await sharedTestImages(engines.producer, 'handover-head');
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  async function exportTo(store: string, env: Record<string, string>, ...sources: string[]): Promise<ExportJson> {
    const result = await cli(['export', ...sources, '--name', 'docker-image', '--store', store, '--json'], { ...producer, ...env });
    expect(result.status, result.stderr + result.stdout).toBe(0);
    return json<ExportJson>(result);
  }

  async function tarBytes(files: TarFile[]): Promise<Buffer> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of writeTar(files)) chunks.push(chunk);
    return Buffer.concat(chunks);
  }

  async function bottomImagesLeft(): Promise<string> {
    return (await docker(engines.producer, 'images', '-aq', '--filter', 'label=io.github.image-handover.partial-of')).trim();
  }

  describe('the bottom layer head start of export', () => {
    it('gives the same bundle as a plain export, reads the bottom layer twice, and leaves no image behind', async () => {
      const head = await exportTo(join(work, 'head'), { HANDOVER_HEAD_START_BYTES: '1' }, images.app);
      const plain = await exportTo(join(work, 'plain'), { HANDOVER_HEAD_START_BYTES: 'off' }, images.app);
      expect(head.images[0]!.manifestDigest).toBe(plain.images[0]!.manifestDigest);
      expect(head.bytes.stored).toBe(plain.bytes.stored);
      expect(Object.keys(head.timings.phases)).toContain('head start');
      expect(Object.keys(plain.timings.phases)).not.toContain('head start');
      // The bottom image's save comes on top of the full one.
      expect(head.bytes.read).toBeGreaterThan(plain.bytes.read);
      expect(await bottomImagesLeft()).toBe('');
    });

    it('lets two exports of one image run at once, each with its own bottom image', async () => {
      const [first, second] = await Promise.all(['at-once-1', 'at-once-2'].map(async (dir) => await exportTo(join(work, dir), { HANDOVER_HEAD_START_BYTES: '1' }, images.app)));
      expect(first!.images[0]!.manifestDigest).toBe(second!.images[0]!.manifestDigest);
      expect(Object.keys(first!.timings.phases)).toContain('head start');
      expect(Object.keys(second!.timings.phases)).toContain('head start');
      expect(await bottomImagesLeft()).toBe('');
    });

    it('goes on with the full save alone when the engine cannot save the bottom image', async () => {
      /** The engine, except that a save of an image by id (the bottom image) fails as a full disk would make it. */
      class BottomSaveFails extends DockerEngine {
        refused = 0;
        override async saveImages(references: readonly string[], signal?: AbortSignal): Promise<BorrowedChunks> {
          if (references.length === 1 && references[0]!.startsWith('sha256:')) {
            this.refused++;
            throw new EngineRequestError('The engine could not export it (500): no space left on device.');
          }
          return await super.saveImages(references, signal);
        }
      }
      const engine = new BottomSaveFails(parseDockerHost(engines.producer));
      const result = await exportImages({ store: new LocalStore(join(work, 'refused')), source: { engine, references: [images.app] }, headStartBytes: 1 });
      const plain = await exportTo(join(work, 'refused-plain'), { HANDOVER_HEAD_START_BYTES: 'off' }, images.app);
      expect(engine.refused).toBe(1);
      expect(Object.keys(result.timings.phases)).toContain('head start');
      expect(result.images[0]!.manifestDigest).toBe(plain.images[0]!.manifestDigest);
      expect(await bottomImagesLeft()).toBe('');
    });

    it('is not given below the threshold, to one-layer images, or to several images at once', async () => {
      const big = await exportTo(join(work, 'threshold'), { HANDOVER_HEAD_START_BYTES: String(1024 ** 4) }, images.app);
      expect(Object.keys(big.timings.phases)).not.toContain('head start');
      const empty = await exportTo(join(work, 'one-layer'), { HANDOVER_HEAD_START_BYTES: '1' }, 'handover-head/empty:1');
      expect(empty.images[0]!.layers).toBe(1);
      expect(Object.keys(empty.timings.phases)).not.toContain('head start');
      const two = await exportTo(join(work, 'two'), { HANDOVER_HEAD_START_BYTES: '1' }, images.app, images.worker);
      expect(Object.keys(two.timings.phases)).not.toContain('head start');
      expect(await bottomImagesLeft()).toBe('');
    });

    it('takes a bottom layer the image holds again higher up', async () => {
      // Layers: an empty tar, one file, the same empty tar: docker save links the third to the first.
      // (History entries carry times: Podman 4.3 cannot answer the history of an image whose entries lack them,
      // and export then goes without a head start — tested with the fake engine.)
      const empty = Buffer.alloc(1024);
      const file = await tarBytes([{ name: 'f', size: 3, content: () => [Buffer.from('hi\n')] }]);
      const diffIds = [empty, file, empty].map((layer) => sha256Digest(layer));
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds }, history: [1, 2, 3].map((i) => ({ created: `2026-11-30T00:00:0${i}Z`, created_by: `layer ${i}` })) }));
      const configName = `${digestHex(sha256Digest(config))}.json`;
      const manifest = Buffer.from(JSON.stringify([{ Config: configName, RepoTags: ['handover-head/twice:1'], Layers: ['a/layer.tar', 'b/layer.tar', 'c/layer.tar'] }]));
      const archive = join(work, 'twice.tar');
      const entries = [['a/layer.tar', empty], ['b/layer.tar', file], ['c/layer.tar', empty], [configName, config], ['manifest.json', manifest]] as const;
      await writeFile(archive, await tarBytes(entries.map(([name, bytes]) => ({ name, size: bytes.length, content: () => [bytes] }))));
      await docker(engines.producer, 'load', '-q', '-i', archive);
      const head = await exportTo(join(work, 'twice'), { HANDOVER_HEAD_START_BYTES: '1' }, 'handover-head/twice:1');
      expect(Object.keys(head.timings.phases)).toContain('head start');
      expect(head.images[0]!.layers).toBe(3);
      await removeImages(engines.c2, 'handover-head/twice:1');
      const load = await cli(['load', '--name', 'docker-image', '--store', join(work, 'twice'), '--json'], { DOCKER_HOST: engines.c2 });
      expect(load.status, load.stderr + load.stdout).toBe(0);
      expect(await imageId(engines.c2, 'handover-head/twice:1')).toBe(await imageId(engines.producer, 'handover-head/twice:1'));
      expect(await bottomImagesLeft()).toBe('');
    });

    it('hands over an image a consumer runs', async () => {
      const store = join(work, 'run');
      await exportTo(store, { HANDOVER_HEAD_START_BYTES: '1' }, images.app);
      await removeImages(engines.c2, images.app);
      const load = await cli(['load', '--name', 'docker-image', '--store', store, '--json'], { DOCKER_HOST: engines.c2 });
      expect(load.status, load.stderr + load.stdout).toBe(0);
      expect(await runContainer(engines.c2, images.app, 'cat', '/greeting')).toContain('hello from the app');
    });
  });
}, { skip: { '28-containerd': 'the head start is for engines with their own layer store; containerd\'s store streams its save from the first byte' } });
