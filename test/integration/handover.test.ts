import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cli, json } from '../support/cli.ts';
import { buildImage, docker, imageId, removeImages, runContainer } from '../support/docker.ts';
import { buildTestImages, type TestImages } from '../support/images.ts';

interface ExportJson {
  bundleDigest: string;
  images: Array<{ tags: string[]; imageId: string; layers: number }>;
  bytes: { read: number; stored: number; written: number };
  timings: { phases: Record<string, number>; totalMs: number };
}
interface LoadJson {
  bundleDigest: string;
  verified: boolean;
  images: Array<{ tags: string[]; imageId: string; previous: Record<string, string | null> }>;
}

const exec = promisify(execFile);
const engines = inject('engines');
const producer = { DOCKER_HOST: engines.producer };
const consumer = { DOCKER_HOST: engines.c1 };
let images: TestImages;
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'handover-it-'));
  images = await buildTestImages(engines.producer);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('export and load across two engines', () => {
  let store: string;
  let exported: ExportJson;

  beforeAll(async () => {
    store = join(work, 'store-main');
    await removeImages(engines.c1, 'charon:local', images.base, images.app);
    const result = await cli(['export', images.app, '--tag', 'charon:local', '--name', 'docker-image', '--store', store, '--json'], producer);
    expect(result.status, result.stderr + result.stdout).toBe(0);
    exported = json<ExportJson>(result);
  });

  it('records the producer image id, its tag and a bundle digest', async () => {
    expect(exported.bundleDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(exported.images).toHaveLength(1);
    expect(exported.images[0]!.tags).toEqual(['charon:local']);
    expect(exported.images[0]!.imageId).toBe(await imageId(engines.producer, images.app));
    // empty, busybox, install, noise, mkdir; then the app's two RUN layers (ENV and CMD add none)
    expect(exported.images[0]!.layers).toBe(7);
    const index = await readFile(join(store, 'names', 'docker-image', 'index.json'));
    const { createHash } = await import('node:crypto');
    expect(`sha256:${createHash('sha256').update(index).digest('hex')}`).toBe(exported.bundleDigest);
  });

  it('loads into a separate engine, verified, and the container runs with every kind of file intact', async () => {
    expect(await imageId(engines.c1, 'charon:local')).toBeUndefined();
    const result = await cli(['load', '--name', 'docker-image', '--store', store, '--expect', exported.bundleDigest, '--require-tag', 'charon:local', '--json'], consumer);
    expect(result.status, result.stderr + result.stdout).toBe(0);
    const loaded = json<LoadJson>(result);
    expect(loaded.verified).toBe(true);
    expect(loaded.images[0]!.imageId).toBe(exported.images[0]!.imageId);
    expect(await imageId(engines.c1, 'charon:local')).toBe(exported.images[0]!.imageId);

    expect(await runContainer(engines.c1, 'charon:local')).toBe('hello from the app\n');
    const listing = await runContainer(engines.c1, 'charon:local', 'sh', '-c',
      'stat -c "%h" /greeting; readlink /greeting.link; cat /greeting.hard; test -e /etc/app/doomed && echo doomed-present || echo doomed-gone; cat /etc/app/origin; test -d /data/empty-dir && echo dir-ok; wc -c < /opt/noise.bin; echo $APP_MODE');
    expect(listing.split('\n')).toEqual(['2', '/greeting', 'hello from the app', 'doomed-gone', 'base', 'dir-ok', String(3 * 1024 * 1024), 'test', '']);
  });

  it('keeps the layer digests: the consumer holds the same diff ids as the producer', async () => {
    const layersOf = async (host: string, ref: string): Promise<string> => (await docker(host, 'image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref)).trim();
    expect(await layersOf(engines.c1, 'charon:local')).toBe(await layersOf(engines.producer, images.app));
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
    const out = join(work, 'skopeo-copy');
    await exec('skopeo', ['copy', `oci:${layout}:charon:local`, `dir:${out}`]);
    const copied = await readdir(out);
    expect(copied).toContain('manifest.json');
    expect(copied).toContain(exported.images[0]!.imageId.slice(7));
    const tags = (await exec('umoci', ['ls', '--layout', layout])).stdout.trim().split('\n');
    expect(tags).toEqual(['charon:local']);
  });

  it('lists and inspects the bundle', async () => {
    const ls = await cli(['ls', '--store', store, '--json']);
    expect(ls.status).toBe(0);
    const names = json<{ bundles: Array<{ name: string; digest: string }> }>(ls).bundles.map((b) => b.name);
    expect(names).toContain('docker-image');
    const inspect = await cli(['inspect', '--name', 'docker-image', '--store', store, '--verify', '--json']);
    expect(inspect.status, inspect.stderr).toBe(0);
    const described = json<{ blobsVerified: boolean; images: Array<{ tags: string[]; layers: Array<{ mediaType: string }> }> }>(inspect);
    expect(described.blobsVerified).toBe(true);
    expect(described.images[0]!.tags).toEqual(['charon:local']);
    expect(new Set(described.images[0]!.layers.map((l) => l.mediaType))).toEqual(new Set(['application/vnd.oci.image.layer.v1.tar+zstd']));
  });
});

describe('bundles of several images', () => {
  it('stores shared base layers once, keeps every tag, and loads both images', async () => {
    const store = join(work, 'store-multi');
    await docker(engines.producer, 'tag', images.app, 'handover-test/app:extra');
    const result = await cli(['export', images.app, 'handover-test/app:extra', images.worker, '--name', 'pair', '--store', store, '--json'], producer);
    expect(result.status, result.stderr + result.stdout).toBe(0);
    const exported = json<ExportJson>(result);
    expect(exported.images).toHaveLength(2);
    const app = exported.images.find((i) => i.tags.includes('handover-test/app:1'))!;
    expect(app.tags.sort()).toEqual(['handover-test/app:1', 'handover-test/app:extra']);

    // 5 base layers + 2 app + 1 worker layers, 2 configs, 2 manifests: shared layers once.
    const blobs = await readdir(join(store, 'names', 'pair', 'blobs', 'sha256'));
    expect(blobs).toHaveLength(5 + 2 + 1 + 2 + 2);

    await removeImages(engines.c2, 'handover-test/app:1', 'handover-test/app:extra', images.worker);
    const load = await cli(['load', '--name', 'pair', '--store', store, '--expect', exported.bundleDigest], { DOCKER_HOST: engines.c2 });
    expect(load.status, load.stderr + load.stdout).toBe(0);
    expect(await runContainer(engines.c2, 'handover-test/app:extra')).toBe('hello from the app\n');
    expect(await runContainer(engines.c2, images.worker)).toBe('worker ready\n');
  });

  it('does not write again a blob the store already holds', async () => {
    const store = join(work, 'store-incremental');
    const first = json<ExportJson>(await cli(['export', images.app, '--name', 'app', '--store', store, '--json'], producer));
    const second = json<ExportJson>(await cli(['export', images.worker, '--name', 'worker', '--store', store, '--json'], producer));
    // Only the worker's own layer, config, manifest and index are new.
    expect(second.bytes.written).toBeLessThan(second.bytes.stored / 2);
    expect(first.bytes.written).toBeGreaterThan(3 * 1024 * 1024 * 0.9);
  });

  it('moves only the layers a consumer lacks when it already holds the base', async () => {
    const store = join(work, 'store-skip');
    // Start from an empty engine: other tests leave images on c3 that share the base.
    await docker(engines.c3, 'image', 'prune', '--all', '--force');
    const app = json<ExportJson>(await cli(['export', images.app, '--name', 'app', '--store', store, '--json'], producer));
    const worker = json<ExportJson>(await cli(['export', images.worker, '--name', 'worker', '--store', store, '--json'], producer));
    const first = json<LoadJson & { skippedLayers: number; bytes: { loaded: number } }>(await cli(['load', '--name', 'app', '--store', store, '--expect', app.bundleDigest, '--json'], { DOCKER_HOST: engines.c3 }));
    expect(first.skippedLayers).toBe(0);
    const second = json<LoadJson & { skippedLayers: number; bytes: { loaded: number; skipped: number } }>(await cli(['load', '--name', 'worker', '--store', store, '--expect', worker.bundleDigest, '--json'], { DOCKER_HOST: engines.c3 }));
    // The five base layers are on the engine already; only the worker's own layer moves.
    expect(second.skippedLayers).toBe(5);
    expect(second.bytes.loaded).toBeLessThan(64 * 1024);
    expect(second.bytes.skipped).toBeGreaterThan(3 * 1024 * 1024);
    expect(second.images[0]!.imageId).toBe(worker.images[0]!.imageId);
    expect(await runContainer(engines.c3, images.worker, 'sh', '-c', 'cat /worker.txt; wc -c < /opt/noise.bin')).toBe(`worker ready\n${3 * 1024 * 1024}\n`);
  });

  it('replaces a name atomically when exported again', async () => {
    const store = join(work, 'store-replace');
    const a = json<ExportJson>(await cli(['export', images.app, '--tag', 'x:1', '--name', 'same', '--store', store, '--json'], producer));
    const b = json<ExportJson>(await cli(['export', images.worker, '--tag', 'x:1', '--name', 'same', '--store', store, '--json'], producer));
    expect(a.bundleDigest).not.toBe(b.bundleDigest);
    const inspect = json<{ bundleDigest: string }>(await cli(['inspect', '--name', 'same', '--store', store, '--json']));
    expect(inspect.bundleDigest).toBe(b.bundleDigest);
    expect((await readdir(join(store, 'names'))).filter((n) => !n.startsWith('.'))).toEqual(['same']);
  });
});

describe('archives from docker save and OCI tools', () => {
  it.each([
    ['uncompressed', [] as string[]],
    ['gzip', ['--dest-compress', '--dest-compress-format', 'gzip']],
  ])('exports an OCI layout archive with %s layers (written by skopeo) and loads it elsewhere', async (kind, flags) => {
    const archive = join(work, `oci-${kind}.tar`);
    await exec('skopeo', ['copy', '--src-daemon-host', engines.producer, ...flags, `docker-daemon:${images.app}`, `oci-archive:${archive}:${images.app}`]);
    const store = join(work, `store-oci-${kind}`);
    const result = await cli(['export', '--archive', archive, '--name', 'oci', '--store', store, '--json'], {});
    expect(result.status, result.stderr + result.stdout).toBe(0);
    const exported = json<ExportJson>(result);
    expect(exported.images[0]!.tags).toEqual([images.app]);
    await removeImages(engines.c3, images.app);
    const load = await cli(['load', '--name', 'oci', '--store', store, '--expect', exported.bundleDigest], { DOCKER_HOST: engines.c3 });
    expect(load.status, load.stderr + load.stdout).toBe(0);
    // skopeo rewrites the config into OCI form, so the id is the archive's config digest, not the producer's.
    expect(await imageId(engines.c3, images.app)).toBe(exported.images[0]!.imageId);
    expect(await runContainer(engines.c3, images.app)).toBe('hello from the app\n');
  });

  it('exports an archive file and loads it elsewhere', async () => {
    const archive = join(work, 'app.tar');
    await docker(engines.producer, 'save', '-o', archive, images.app);
    expect((await stat(archive)).size).toBeGreaterThan(3 * 1024 * 1024);
    const store = join(work, 'store-archive');
    const result = await cli(['export', '--archive', archive, '--tag', 'from-archive:1', '--name', 'arch', '--store', store, '--json'], {});
    expect(result.status, result.stderr + result.stdout).toBe(0);
    await removeImages(engines.c3, 'from-archive:1');
    const load = await cli(['load', '--name', 'arch', '--store', store, '--require-tag', 'from-archive:1'], { DOCKER_HOST: engines.c3 });
    expect(load.status, load.stderr + load.stdout).toBe(0);
    expect(await runContainer(engines.c3, 'from-archive:1')).toBe('hello from the app\n');
  });
});

describe('an image that holds one layer twice', () => {
  it('exports and loads it: docker save links the second copy, and the consumer gets the same image id', async () => {
    const tag = 'handover-test/twice:1';
    // COPY keeps the file's time and mode, so copying the same file twice makes two identical layers.
    await buildImage(engines.producer, tag, `FROM ${images.base}\nCOPY same /same\nCOPY same /same\n`, { same: 'the same bytes\n' });
    const diffIds = JSON.parse(await docker(engines.producer, 'image', 'inspect', '-f', '{{json .RootFS.Layers}}', tag)) as string[];
    expect(diffIds.at(-1)).toBe(diffIds.at(-2));
    const store = join(work, 'store-twice');
    const exported = await cli(['export', tag, '--name', 'twice', '--store', store, '--json'], producer);
    expect(exported.status, exported.stderr + exported.stdout).toBe(0);
    await removeImages(engines.c1, tag);
    const loaded = await cli(['load', '--name', 'twice', '--store', store, '--json'], consumer);
    expect(loaded.status, loaded.stderr + loaded.stdout).toBe(0);
    expect(await imageId(engines.c1, tag)).toBe(await imageId(engines.producer, tag));
    expect(await runContainer(engines.c1, tag, 'cat', '/same')).toBe('the same bytes\n');
  });
});
