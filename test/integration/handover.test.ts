import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, json } from '../support/cli.ts';
import { writeTar, type TarFile } from '../../src/archive/tar/tar-writer.ts';
import { busyboxBinary, docker, imageId, removeImages, runContainer } from '../support/docker.ts';
import type { EngineKind } from '../support/engine-kinds.ts';
import { consumerAt, forEachEngineKind, runningKinds } from '../support/engine-matrix.ts';
import { clearImages } from '../support/faults.ts';
import { bothOnContainerd, expectSameImage, identityOf } from '../support/identity.ts';
import { sharedTestImages, type TestImages } from '../support/images.ts';

/**
 * The handover between two engines of every kind (20.10, 28 classic, 28 on
 * containerd's store, Podman), and then between every producer kind and
 * every consumer kind. What "the same image" means is in
 * support/identity.ts: the same config digest and diff ids everywhere, the
 * consumer's own id reported by load, and the producer's very id where both
 * engines use containerd's store.
 */

interface ExportJson {
  bundleDigest: string;
  images: Array<{ tags: string[]; imageId: string; sourceId?: string; manifestDigest: string; layers: number }>;
  bytes: { read: number; stored: number; written: number };
  timings: { phases: Record<string, number>; totalMs: number };
}
interface LoadJson {
  bundleDigest: string;
  verified: boolean;
  images: Array<{ tags: string[]; imageId: string; previous: Record<string, string | null> }>;
}

const exec = promisify(execFile);
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'handover-it-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Layers arrive compressed from containerd's store and pass through; every other kind's are compressed here with zstd. */
function layersPassThrough(kind: EngineKind): boolean {
  return kind === '28-containerd';
}

forEachEngineKind((kind, engines) => {
  const producer = { DOCKER_HOST: engines.producer };
  const consumer = { DOCKER_HOST: consumerAt(engines, 0) };
  let images: TestImages;

  beforeAll(async () => {
    await mkdir(join(work, kind), { recursive: true });
    images = await sharedTestImages(engines.producer);
  });

  describe('export and load across two engines', () => {
    let store: string;
    let exported: ExportJson;

    beforeAll(async () => {
      store = join(work, kind, 'store-main');
      await removeImages(consumer.DOCKER_HOST, 'charon:local', images.base, images.app);
      const result = await cli(['export', images.app, '--tag', 'charon:local', '--name', 'docker-image', '--store', store, '--json'], producer);
      expect(result.status, result.stderr + result.stdout).toBe(0);
      exported = json<ExportJson>(result);
    });

    it('records the producer image (its config digest and the engine\'s own id), its tag and a bundle digest', async () => {
      expect(exported.bundleDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(exported.images).toHaveLength(1);
      expect(exported.images[0]!.tags).toEqual(['charon:local']);
      const made = await identityOf(engines, engines.producer, images.app);
      expect(exported.images[0]!.imageId).toBe(made!.configDigest);
      expect(exported.images[0]!.sourceId).toBe(made!.id);
      // empty, busybox, install, noise, mkdir; then the app's two RUN layers (ENV and CMD add none)
      expect(exported.images[0]!.layers).toBe(7);
      const index = await readFile(join(store, 'names', 'docker-image', 'index.json'));
      expect(`sha256:${createHash('sha256').update(index).digest('hex')}`).toBe(exported.bundleDigest);
    });

    it('loads into a separate engine, verified, as the same image, and the container runs with every kind of file intact', async () => {
      expect(await imageId(consumer.DOCKER_HOST, 'charon:local')).toBeUndefined();
      const result = await cli(['load', '--name', 'docker-image', '--store', store, '--expect', exported.bundleDigest, '--require-tag', 'charon:local', '--json'], consumer);
      expect(result.status, result.stderr + result.stdout).toBe(0);
      const loaded = json<LoadJson>(result);
      expect(loaded.verified).toBe(true);
      await expectSameImage({
        producer: { engines, host: engines.producer, reference: images.app },
        consumer: { engines, host: consumer.DOCKER_HOST, reference: 'charon:local' },
        exportedConfigDigest: exported.images[0]!.imageId,
        loadedId: loaded.images[0]!.imageId,
        bundleImageDigest: exported.images[0]!.manifestDigest,
      });
      // Layers that arrive compressed pass through, and the producer's manifest with them.
      if (layersPassThrough(kind)) expect(exported.images[0]!.manifestDigest).toBe(exported.images[0]!.sourceId);

      expect(await runContainer(consumer.DOCKER_HOST, 'charon:local')).toBe('hello from the app\n');
      const listing = await runContainer(consumer.DOCKER_HOST, 'charon:local', 'sh', '-c',
        'stat -c "%h" /greeting; readlink /greeting.link; cat /greeting.hard; test -e /etc/app/doomed && echo doomed-present || echo doomed-gone; cat /etc/app/origin; test -d /data/empty-dir && echo dir-ok; wc -c < /opt/noise.bin; echo $APP_MODE');
      expect(listing.split('\n')).toEqual(['2', '/greeting', 'hello from the app', 'doomed-gone', 'base', 'dir-ok', String(3 * 1024 * 1024), 'test', '']);
    });

    it('prints a summary with per-phase timings, and says what to pin', async () => {
      const result = await cli(['export', images.app, '--tag', 'charon:local', '--name', 'summary', '--store', store, '--quiet'], producer);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain("Exported bundle 'summary'");
      expect(result.stdout).toMatch(/time: .*inspect .*engine read .*stream .*publish/);
      expect(result.stdout).toContain('handover load --name summary --expect sha256:');
    });

    it('is a standard OCI image layout: skopeo inspects and copies it, umoci lists it', async () => {
      const layout = join(store, 'names', 'docker-image');
      const inspected = JSON.parse((await exec('skopeo', ['inspect', `oci:${layout}:charon:local`])).stdout) as { Layers: string[]; Architecture: string };
      expect(inspected.Layers).toHaveLength(7);
      expect(inspected.Architecture).toBe('amd64');
      const out = join(work, kind, 'skopeo-copy');
      await exec('skopeo', ['copy', `oci:${layout}:charon:local`, `dir:${out}`]);
      const copied = await readdir(out);
      expect(copied).toContain('manifest.json');
      expect(copied).toContain(exported.images[0]!.imageId.slice(7));
      const tags = (await exec('umoci', ['ls', '--layout', layout])).stdout.trim().split('\n');
      expect(tags).toEqual(['charon:local']);
    });

    it(`lists and inspects the bundle (layers ${layersPassThrough(kind) ? 'as the engine stored them (gzip)' : 'compressed with zstd'})`, async () => {
      const ls = await cli(['ls', '--store', store, '--json']);
      expect(ls.status).toBe(0);
      const names = json<{ bundles: Array<{ name: string; digest: string }> }>(ls).bundles.map((b) => b.name);
      expect(names).toContain('docker-image');
      const inspect = await cli(['inspect', '--name', 'docker-image', '--store', store, '--verify', '--json']);
      expect(inspect.status, inspect.stderr).toBe(0);
      const described = json<{ blobsVerified: boolean; images: Array<{ tags: string[]; layers: Array<{ mediaType: string }> }> }>(inspect);
      expect(described.blobsVerified).toBe(true);
      expect(described.images[0]!.tags).toEqual(['charon:local']);
      const mediaTypes = new Set(described.images[0]!.layers.map((l) => l.mediaType));
      if (layersPassThrough(kind)) {
        for (const mediaType of mediaTypes) expect(mediaType).toMatch(/gzip$/);
      } else {
        expect(mediaTypes).toEqual(new Set(['application/vnd.oci.image.layer.v1.tar+zstd']));
      }
    });
  });

  describe('bundles of several images', () => {
    it('stores shared base layers once, keeps every tag, and loads both images', async () => {
      const store = join(work, kind, 'store-multi');
      const second = consumerAt(engines, 1);
      await docker(engines.producer, 'tag', images.app, 'handover-shared/app:extra');
      const result = await cli(['export', images.app, 'handover-shared/app:extra', images.worker, '--name', 'pair', '--store', store, '--json'], producer);
      expect(result.status, result.stderr + result.stdout).toBe(0);
      const exported = json<ExportJson>(result);
      expect(exported.images).toHaveLength(2);
      const app = exported.images.find((i) => i.tags.includes(images.app))!;
      expect(app.tags.sort()).toEqual([images.app, 'handover-shared/app:extra']);

      // 5 base layers + 2 app + 1 worker layers, 2 configs, 2 manifests: shared layers once.
      const blobs = await readdir(join(store, 'names', 'pair', 'blobs', 'sha256'));
      expect(blobs).toHaveLength(5 + 2 + 1 + 2 + 2);

      await removeImages(second, images.app, 'handover-shared/app:extra', images.worker);
      const load = await cli(['load', '--name', 'pair', '--store', store, '--expect', exported.bundleDigest], { DOCKER_HOST: second });
      expect(load.status, load.stderr + load.stdout).toBe(0);
      expect(await runContainer(second, 'handover-shared/app:extra')).toBe('hello from the app\n');
      expect(await runContainer(second, images.worker)).toBe('worker ready\n');
    });

    it('does not write again a blob the store already holds', async () => {
      const store = join(work, kind, 'store-incremental');
      const first = json<ExportJson>(await cli(['export', images.app, '--name', 'app', '--store', store, '--json'], producer));
      const second = json<ExportJson>(await cli(['export', images.worker, '--name', 'worker', '--store', store, '--json'], producer));
      // Only the worker's own layer, config, manifest and index are new.
      expect(second.bytes.written).toBeLessThan(second.bytes.stored / 2);
      expect(first.bytes.written).toBeGreaterThan(3 * 1024 * 1024 * 0.9);
    });

    // Docker's own layer store skips a layer whose chain it holds; Podman and containerd's store get every layer of the image.
    const skips = kind === '20.10' || kind === '28-classic';
    it(skips ? 'moves only the layers a consumer lacks when it already holds the base' : 'sends every layer, the base too (only Docker\'s own layer store skips what it holds)', async () => {
      const store = join(work, kind, 'store-skip');
      const third = consumerAt(engines, 2);
      // Start from an empty engine: other tests leave images that share the base.
      await clearImages(third);
      const app = json<ExportJson>(await cli(['export', images.app, '--name', 'app', '--store', store, '--json'], producer));
      const worker = json<ExportJson>(await cli(['export', images.worker, '--name', 'worker', '--store', store, '--json'], producer));
      const first = json<LoadJson & { skippedLayers: number; bytes: { loaded: number } }>(await cli(['load', '--name', 'app', '--store', store, '--expect', app.bundleDigest, '--json'], { DOCKER_HOST: third }));
      expect(first.skippedLayers).toBe(0);
      const second = json<LoadJson & { skippedLayers: number; bytes: { loaded: number; skipped: number } }>(await cli(['load', '--name', 'worker', '--store', store, '--expect', worker.bundleDigest, '--json'], { DOCKER_HOST: third }));
      if (skips) {
        // The five base layers are on the engine already; only the worker's own layer moves.
        expect(second.skippedLayers).toBe(5);
        expect(second.bytes.loaded).toBeLessThan(64 * 1024);
        expect(second.bytes.skipped).toBeGreaterThan(3 * 1024 * 1024);
      } else {
        expect(second.skippedLayers).toBe(0);
        expect(second.bytes.loaded).toBeGreaterThan(3 * 1024 * 1024);
      }
      await expectSameImage({
        producer: { engines, host: engines.producer, reference: images.worker },
        consumer: { engines, host: third, reference: images.worker },
        exportedConfigDigest: worker.images[0]!.imageId,
        loadedId: second.images[0]!.imageId,
        bundleImageDigest: worker.images[0]!.manifestDigest,
      });
      expect(await runContainer(third, images.worker, 'sh', '-c', 'cat /worker.txt; wc -c < /opt/noise.bin')).toBe(`worker ready\n${3 * 1024 * 1024}\n`);
    });
  });

  describe('archives from docker save and OCI tools', () => {
    it.each([
      ['uncompressed', [] as string[]],
      ['gzip', ['--dest-compress', '--dest-compress-format', 'gzip']],
    ])('exports an OCI layout archive with %s layers (written by skopeo from this engine\'s save) and loads it elsewhere', async (compression, flags) => {
      const third = consumerAt(engines, 2);
      const archive = join(work, kind, `oci-${compression}.tar`);
      // From this engine's docker save (skopeo 1.13's docker-daemon transport speaks API 1.22, which Docker 28 refuses).
      const saved = join(work, kind, `skopeo-source-${compression}.tar`);
      await docker(engines.producer, 'save', '-o', saved, images.app);
      await exec('skopeo', ['copy', ...flags, `docker-archive:${saved}`, `oci-archive:${archive}:${images.app}`]);
      const store = join(work, kind, `store-oci-${compression}`);
      const result = await cli(['export', '--archive', archive, '--name', 'oci', '--store', store, '--json'], {});
      expect(result.status, result.stderr + result.stdout).toBe(0);
      const exported = json<ExportJson>(result);
      expect(exported.images[0]!.tags).toEqual([images.app]);
      await removeImages(third, images.app);
      const load = await cli(['load', '--name', 'oci', '--store', store, '--expect', exported.bundleDigest, '--json'], { DOCKER_HOST: third });
      expect(load.status, load.stderr + load.stdout).toBe(0);
      // skopeo rewrites the config into OCI form, so the config digest is the archive's, not the producer's.
      const held = await identityOf(engines, third, images.app);
      expect(held?.configDigest).toBe(exported.images[0]!.imageId);
      expect(held?.id).toBe(json<LoadJson>(load).images[0]!.imageId);
      expect(await runContainer(third, images.app)).toBe('hello from the app\n');
    });

    it(`exports what this engine's docker save wrote and loads it elsewhere as the same image`, async () => {
      const third = consumerAt(engines, 2);
      const archive = join(work, kind, 'app.tar');
      await docker(engines.producer, 'save', '-o', archive, images.app);
      expect((await stat(archive)).size).toBeGreaterThan(3 * 1024 * 1024);
      const store = join(work, kind, 'store-archive');
      const result = await cli(['export', '--archive', archive, '--tag', 'from-archive:1', '--name', 'arch', '--store', store, '--json'], {});
      expect(result.status, result.stderr + result.stdout).toBe(0);
      await removeImages(third, 'from-archive:1');
      const load = await cli(['load', '--name', 'arch', '--store', store, '--require-tag', 'from-archive:1', '--json'], { DOCKER_HOST: third });
      expect(load.status, load.stderr + load.stdout).toBe(0);
      await expectSameImage({
        producer: { engines, host: engines.producer, reference: images.app },
        consumer: { engines, host: third, reference: 'from-archive:1' },
        exportedConfigDigest: json<ExportJson>(result).images[0]!.imageId,
        loadedId: json<LoadJson>(load).images[0]!.imageId,
        bundleImageDigest: json<ExportJson>(result).images[0]!.manifestDigest,
      });
      expect(await runContainer(third, 'from-archive:1')).toBe('hello from the app\n');
    });
  });

  describe('an image that holds one layer twice', () => {
    it('exports and loads it: the save keeps the second copy once, and the consumer gets the same image', async () => {
      const tag = 'handover-test/twice:1';
      await loadImageWithALayerTwice(engines.producer, tag);
      const diffIds = JSON.parse(await docker(engines.producer, 'image', 'inspect', '-f', '{{json .RootFS.Layers}}', tag)) as string[];
      expect(diffIds.at(-1)).toBe(diffIds.at(-2));
      const store = join(work, kind, 'store-twice');
      const exported = await cli(['export', tag, '--name', 'twice', '--store', store, '--json'], producer);
      expect(exported.status, exported.stderr + exported.stdout).toBe(0);
      await removeImages(consumer.DOCKER_HOST, tag);
      const loaded = await cli(['load', '--name', 'twice', '--store', store, '--json'], consumer);
      expect(loaded.status, loaded.stderr + loaded.stdout).toBe(0);
      await expectSameImage({
        producer: { engines, host: engines.producer, reference: tag },
        consumer: { engines, host: consumer.DOCKER_HOST, reference: tag },
        exportedConfigDigest: json<ExportJson>(exported).images[0]!.imageId,
        loadedId: json<LoadJson>(loaded).images[0]!.imageId,
        bundleImageDigest: json<ExportJson>(exported).images[0]!.manifestDigest,
      });
      expect(await runContainer(consumer.DOCKER_HOST, tag, '/bin/busybox', 'cat', '/same')).toBe('the same bytes\n');
    });
  });
});

/**
 * Puts on an engine (by docker load of an archive made here) an image whose
 * last two layers are one layer: what two COPY steps of the same file make
 * on a classic builder. (On containerd's store the builder gives such COPY
 * layers different diff ids, so a build cannot make this image there.)
 */
async function loadImageWithALayerTwice(dockerHost: string, tag: string): Promise<void> {
  const tarOf = async (files: TarFile[]): Promise<Buffer> => {
    const chunks: Uint8Array[] = [];
    for await (const chunk of writeTar(files)) chunks.push(chunk);
    return Buffer.concat(chunks);
  };
  const busybox = await busyboxBinary();
  const same = Buffer.from('the same bytes\n');
  const bottom = await tarOf([{ name: 'bin/busybox', size: busybox.length, mode: 0o755, content: () => [busybox] }]);
  const top = await tarOf([{ name: 'same', size: same.length, content: () => [same] }]);
  const layers = [bottom, top, top];
  const diffIds = layers.map((layer) => `sha256:${createHash('sha256').update(layer).digest('hex')}`);
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['/bin/busybox', 'cat', '/same'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    // Created times: Podman 4.3 answers 500 for the history of an image without them (findings F2).
    history: ['COPY busybox /bin/busybox', 'COPY same /same', 'COPY same /same'].map((step) => ({ created: '2026-01-01T00:00:00Z', created_by: step })),
  }));
  const configName = `${createHash('sha256').update(config).digest('hex')}.json`;
  // Fully qualified, as Podman would otherwise name a short RepoTag localhost/….
  const manifest = Buffer.from(JSON.stringify([{ Config: configName, RepoTags: [`docker.io/${tag}`], Layers: ['a/layer.tar', 'b/layer.tar', 'c/layer.tar'] }]));
  const archive = join(work, `twice-${createHash('sha256').update(dockerHost).digest('hex').slice(0, 8)}.tar`);
  const entries = [['a/layer.tar', bottom], ['b/layer.tar', top], ['c/layer.tar', top], [configName, config], ['manifest.json', manifest]] as const;
  await writeFile(archive, await tarOf(entries.map(([name, bytes]) => ({ name, size: bytes.length, content: () => [bytes] }))));
  await docker(dockerHost, 'load', '-q', '-i', archive);
}

// The store's own behaviour does not depend on the engine that fed it.
forEachEngineKind((_kind, engines) => {
  it('replaces a name atomically when exported again', async () => {
    const images = await sharedTestImages(engines.producer);
    const producer = { DOCKER_HOST: engines.producer };
    const store = join(work, 'store-replace');
    const a = json<ExportJson>(await cli(['export', images.app, '--tag', 'x:1', '--name', 'same', '--store', store, '--json'], producer));
    const b = json<ExportJson>(await cli(['export', images.worker, '--tag', 'x:1', '--name', 'same', '--store', store, '--json'], producer));
    expect(a.bundleDigest).not.toBe(b.bundleDigest);
    const inspect = json<{ bundleDigest: string }>(await cli(['inspect', '--name', 'same', '--store', store, '--json']));
    expect(inspect.bundleDigest).toBe(b.bundleDigest);
    expect((await readdir(join(store, 'names'))).filter((n) => !n.startsWith('.'))).toEqual(['same']);
  });
}, { skip: { '28-classic': 'store behaviour: the same whichever engine fed the store', '28-containerd': 'store behaviour: the same whichever engine fed the store', podman: 'store behaviour: the same whichever engine fed the store' } });

/**
 * Every producer kind to every consumer kind: a bundle exported from one
 * kind's producer loads on another kind's consumer (the last of each kind,
 * which the blocks above leave alone) as the same image.
 */
describe('across kinds: every producer kind to every consumer kind', () => {
  const kinds = runningKinds();
  const bundles = new Map<EngineKind, { store: string; digest: string; configDigest: string; imageDigest: string; app: string }>();

  beforeAll(async () => {
    for (const engines of kinds) {
      const images = await sharedTestImages(engines.producer);
      const store = join(work, 'cross', engines.kind);
      const result = await cli(['export', images.app, '--tag', 'charon:local', '--name', 'docker-image', '--store', store, '--json'], { DOCKER_HOST: engines.producer });
      expect(result.status, `${engines.kind}: ${result.stderr}${result.stdout}`).toBe(0);
      const exported = json<ExportJson>(result);
      bundles.set(engines.kind, { store, digest: exported.bundleDigest, configDigest: exported.images[0]!.imageId, imageDigest: exported.images[0]!.manifestDigest, app: images.app });
    }
  });

  const pairs = kinds.flatMap((producer) => kinds.map((consumer) => ({
    producer,
    consumer,
    name: `${producer.kind} producer -> ${consumer.kind} consumer: the same config digest and diff ids, the consumer's id reported${bothOnContainerd(producer.kind, consumer.kind) ? ', the producer\'s very image id' : ''}`,
  })));
  for (const { name, producer, consumer } of pairs) {
    it(name, async () => {
      const bundle = bundles.get(producer.kind)!;
      const host = consumer.consumers.at(-1)!;
      await removeImages(host, 'charon:local');
      const result = await cli(['load', '--name', 'docker-image', '--store', bundle.store, '--expect', bundle.digest, '--require-tag', 'charon:local', '--json'], { DOCKER_HOST: host });
      expect(result.status, result.stderr + result.stdout).toBe(0);
      await expectSameImage({
        producer: { engines: producer, host: producer.producer, reference: bundle.app },
        consumer: { engines: consumer, host, reference: 'charon:local' },
        exportedConfigDigest: bundle.configDigest,
        loadedId: json<LoadJson>(result).images[0]!.imageId,
        bundleImageDigest: bundle.imageDigest,
      });
      expect(await runContainer(host, 'charon:local')).toBe('hello from the app\n');
    });
  }
});
