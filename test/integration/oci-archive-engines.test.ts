import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OciArchiveReader } from '../../src/archive/oci-archive/oci-archive-reader.ts';
import { fileRangeSource } from '../../src/archive/oci-archive/range-source.ts';
import { sha256Digest } from '../../src/digest/digest.ts';
import { DockerEngine, LocalStore, exportImages, parseDockerHost, type ExportResult } from '../../src/index.ts';
import { writeBundleArchive } from '../support/bundle-archive.ts';
import { docker, imageId, removeImages, runContainer } from '../support/docker.ts';
import { buildTestImages, type TestImages } from '../support/images.ts';

const exec = promisify(execFile);
const engines = inject('engines');
let images: TestImages;
let work: string;

/** Exports the app image into a local store and writes the bundle as a single-file archive. */
async function archiveOf(compression: 'gzip' | 'zstd'): Promise<{ path: string; exported: ExportResult }> {
  const store = new LocalStore(join(work, `store-${compression}`));
  const exported = await exportImages({
    source: { engine: new DockerEngine(parseDockerHost(engines.producer)), references: [images.app] },
    store,
    name: 'docker-image',
    tag: 'charon:local',
    compression,
  });
  const path = join(work, `charon-${compression}.tar`);
  const source = await store.openBundle('docker-image');
  try {
    await writeBundleArchive(source, createWriteStream(path));
  } finally {
    await source.close();
  }
  return { path, exported };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'handover-archive-'));
  images = await buildTestImages(engines.producer, 'archive-test');
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the single-file bundle as other tools read it', () => {
  let gzip: { path: string; exported: ExportResult };

  beforeAll(async () => {
    gzip = await archiveOf('gzip');
  });

  it('loads with `docker load` on Docker Engine 20.10, tagged, as the exported image', async () => {
    const { stdout } = await exec('docker', ['version', '--format', '{{.Server.Version}}'], { env: { ...process.env, DOCKER_HOST: engines.c1 } });
    expect(stdout.trim()).toMatch(/^20\.10\./);
    await removeImages(engines.c1, 'charon:local');
    const loaded = await docker(engines.c1, 'load', '-i', gzip.path);
    expect(loaded).toContain('Loaded image: charon:local');
    expect(await imageId(engines.c1, 'charon:local')).toBe(gzip.exported.images[0]!.imageId);
    expect((await runContainer(engines.c1, 'charon:local', 'cat', '/greeting')).trim()).toBe('hello from the app');
  });

  it('is an OCI archive for skopeo: inspect and copy read it', async () => {
    const { stdout } = await exec('skopeo', ['inspect', '--raw', `oci-archive:${gzip.path}`]);
    const manifest = JSON.parse(stdout) as { layers: unknown[]; config: { digest: string } };
    expect(manifest.config.digest).toBe(gzip.exported.images[0]!.imageId);
    expect(manifest.layers).toHaveLength(gzip.exported.images[0]!.layers);
    const copy = join(work, 'skopeo-copy');
    await exec('skopeo', ['copy', `oci-archive:${gzip.path}:charon:local`, `oci:${copy}:charon:local`]);
    const { stdout: copied } = await exec('skopeo', ['inspect', '--raw', `oci:${copy}:charon:local`]);
    expect(sha256Digest(copied)).toBe(gzip.exported.images[0]!.manifestDigest);
  });

  it('is read back by range: the index from the tail is the exported bundle digest', async () => {
    const opened = await OciArchiveReader.open(await fileRangeSource(gzip.path));
    if (opened.kind !== 'oci-archive') throw new Error(`read as ${opened.kind}`);
    expect(sha256Digest(await opened.reader.entryBytes('index.json', 1 << 20))).toBe(gzip.exported.bundleDigest);
    expect(opened.reader.entries.map((e) => e.name).slice(-3)).toEqual(['index.json', 'oci-layout', 'manifest.json']);
  });

  it('with zstd layers: Docker Engine 20.10 refuses them (known; newer engines load them), skopeo reads the archive', async () => {
    const zstd = await archiveOf('zstd');
    await removeImages(engines.c2, 'charon:local');
    const refused = await docker(engines.c2, 'load', '-i', zstd.path).then(
      () => undefined,
      (error: Error) => error.message,
    );
    // 20.10 takes a zstd layer for a plain tar: "Error processing tar file(exit status 1): unexpected EOF".
    expect(refused).toMatch(/Error processing tar file/);
    expect(await imageId(engines.c2, 'charon:local')).toBeUndefined();
    const { stdout } = await exec('skopeo', ['inspect', '--raw', `oci-archive:${zstd.path}`]);
    expect(stdout).toContain('tar+zstd');
  });
});
