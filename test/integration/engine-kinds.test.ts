import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { EngineKind, RunningKind } from '../support/engine-kinds.ts';
import { engineGet, forEachEngineKind, kindDocker } from '../support/engine-matrix.ts';

/**
 * Each engine kind is up and behaves as the notes on engines say: it builds
 * offline and runs what it built; `docker save` writes the layout of its
 * kind; `docker load` on another engine of the kind gives the image the same
 * id — the config digest on the classic stores and Podman, the digest of
 * the manifest (or index) that index.json names on the containerd store.
 */

const exec = promisify(execFile);

interface ManifestEntry {
  Config: string;
  Layers: string[];
}
interface Index {
  manifests: Array<{ mediaType: string; digest: string; platform?: { architecture: string; os: string } }>;
}

/** An archive that docker save or buildx wrote, unpacked. */
interface Archive {
  dir: string;
  has: (path: string) => Promise<boolean>;
  manifestJson: () => Promise<ManifestEntry[]>;
  index: () => Promise<Index>;
  digestOf: (path: string) => Promise<string>;
}

async function unpack(tarFile: string): Promise<Archive> {
  const dir = `${tarFile}.d`;
  await mkdir(dir, { recursive: true });
  await exec('tar', ['-xf', tarFile, '-C', dir]);
  const read = async (path: string): Promise<Buffer> => await readFile(join(dir, path));
  return {
    dir,
    has: async (path) => await read(path).then(() => true, () => false),
    manifestJson: async () => JSON.parse((await read('manifest.json')).toString()) as ManifestEntry[],
    index: async () => JSON.parse((await read('index.json')).toString()) as Index,
    digestOf: async (path) => `sha256:${createHash('sha256').update(await read(path)).digest('hex')}`,
  };
}

/** gzip, or a plain tar (ustar magic at 257): how a layer file in a save is stored. */
async function layerEncoding(path: string): Promise<'gzip' | 'tar' | 'other'> {
  const head = (await readFile(path)).subarray(0, 512);
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.subarray(257, 262).toString() === 'ustar') return 'tar';
  return 'other';
}

const LAYOUT: Record<EngineKind, { oci: boolean; layers: 'gzip' | 'tar' }> = {
  // The legacy layout: <layer id>/layer.tar, <config>.json, manifest.json, repositories.
  '20.10': { oci: false, layers: 'tar' },
  // An OCI layout plus manifest.json; layers as uncompressed tars named by diff id.
  '28-classic': { oci: true, layers: 'tar' },
  // An OCI layout plus manifest.json; the store's blobs as they are (BuildKit compressed them with gzip).
  '28-containerd': { oci: true, layers: 'gzip' },
  // docker-archive: the legacy layout, layer tars named by diff id.
  podman: { oci: false, layers: 'tar' },
};

/** The image id an engine of this kind gives the image of a save it wrote (and a load of it). */
async function expectedImageId(kind: EngineKind, archive: Archive): Promise<string> {
  if (kind === '28-containerd') {
    const [target] = (await archive.index()).manifests;
    if (target === undefined) throw new Error('index.json names no manifest');
    // The index.json entry names the image's manifest or index by the digest of its blob.
    expect(await archive.digestOf(`blobs/sha256/${target.digest.slice('sha256:'.length)}`)).toBe(target.digest);
    return target.digest;
  }
  const [entry] = await archive.manifestJson();
  if (entry === undefined) throw new Error('manifest.json lists no image');
  return await archive.digestOf(entry.Config);
}

async function imageId(engines: RunningKind, host: string, reference: string): Promise<string> {
  return (await kindDocker(engines, host, 'image', 'inspect', '--format', '{{.Id}}', reference)).stdout.trim();
}

async function writeContext(dir: string, dockerfile: string, files: Record<string, string>): Promise<string> {
  await mkdir(dir, { recursive: true });
  await copyFile('/usr/bin/busybox', join(dir, 'busybox')).catch((error: unknown) => {
    throw new Error('/usr/bin/busybox is missing: install Debian\'s busybox-static (scripts/setup.sh does)', { cause: error });
  });
  await writeFile(join(dir, 'Dockerfile'), dockerfile);
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
  return dir;
}

forEachEngineKind((kind, engines) => {
  const image = 'kinds/probe:1';
  const consumer = engines.consumers[0]!;
  let work: string;
  let saved: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'engine-kinds-'));
    saved = join(work, 'probe.tar');
    const context = await writeContext(join(work, 'context'), [
      'FROM scratch',
      'COPY busybox /bin/busybox',
      'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
      'RUN echo "hello from $(uname -m)" > /hello',
      'CMD ["/bin/cat", "/hello"]',
    ].join('\n'), {});
    // The kind's own builder: BuildKit through buildx on 28, the classic builder on 20.10, buildah in Podman.
    await kindDocker(engines, engines.producer, 'build', '--network', 'none', '-t', image, context);
  });

  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('builds an image offline and runs it', async () => {
    const { stdout } = await kindDocker(engines, engines.producer, 'run', '--rm', '--network', 'none', image);
    expect(stdout).toBe('hello from x86_64\n');
  });

  it(`docker save writes ${LAYOUT[kind].oci ? 'an OCI layout with manifest.json' : 'the legacy layout'}, layers as ${LAYOUT[kind].layers === 'gzip' ? 'stored (gzip)' : 'plain tars'}`, async () => {
    await kindDocker(engines, engines.producer, 'save', '-o', saved, image);
    const archive = await unpack(saved);
    expect(await archive.has('manifest.json')).toBe(true);
    expect(await archive.has('oci-layout')).toBe(LAYOUT[kind].oci);
    expect(await archive.has('index.json')).toBe(LAYOUT[kind].oci);
    const [entry] = await archive.manifestJson();
    expect(entry?.Layers).toHaveLength(3);
    for (const layer of entry!.Layers) expect(await layerEncoding(join(archive.dir, layer))).toBe(LAYOUT[kind].layers);
    expect(await imageId(engines, engines.producer, image)).toBe(await expectedImageId(kind, archive));
  });

  it(`docker load on another ${kind} engine gives the image the producer's id (${kind === '28-containerd' ? 'manifest or index digest' : 'config digest'})`, async () => {
    const producerId = await imageId(engines, engines.producer, image);
    const archive = await unpack(saved);
    await kindDocker(engines, consumer, 'load', '-i', saved);
    expect(await imageId(engines, consumer, image)).toBe(producerId);
    expect(producerId).toBe(await expectedImageId(kind, archive));
    const { stdout } = await kindDocker(engines, consumer, 'run', '--rm', '--network', 'none', image);
    expect(stdout).toBe('hello from x86_64\n');
  });
});

interface ImageSummary {
  Id: string;
  RepoTags: string[] | null;
  Manifests?: Array<{ Kind: string; Available: boolean; ImageData?: { Platform?: { architecture: string } } }>;
}

/**
 * The plan's producer step with buildx: a main build that writes its cache,
 * an export step that reads it (CACHED) and writes `type=docker,dest=`, and
 * a multi-platform `type=oci,dest=` archive that a containerd-store consumer
 * loads with its index.
 */
forEachEngineKind((_kind, engines) => {
  const [first, second] = [engines.consumers[0]!, engines.consumers[1] ?? engines.consumers[0]!];
  let work: string;
  let context: string;
  let cache: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'engine-kinds-buildx-'));
    cache = join(work, 'cache');
    // COPY only: two platforms without emulation.
    context = await writeContext(join(work, 'context'), [
      'FROM scratch',
      'COPY busybox /bin/busybox',
      'COPY motd /etc/motd',
      'CMD ["/bin/busybox", "cat", "/etc/motd"]',
    ].join('\n'), { motd: 'charon is up\n' });
    await kindDocker(engines, engines.producer, 'buildx', 'build', '--network', 'none', '--platform', 'linux/amd64,linux/arm64',
      '--cache-to', `type=local,dest=${cache},mode=max`, '-t', 'kinds/multi:1', context);
    // As on a fresh runner: only the exported cache can make the next build CACHED.
    await kindDocker(engines, engines.producer, 'builder', 'prune', '-af');
  });

  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('the export step reuses the main build\'s cache and writes a docker archive that loads with its manifest digest', async () => {
    const tarball = join(work, 'charon.tar');
    const { stderr } = await kindDocker(engines, engines.producer, 'buildx', 'build', '--progress', 'plain', '--network', 'none',
      '--platform', 'linux/amd64', '--cache-from', `type=local,src=${cache}`, '--output', `type=docker,dest=${tarball}`, '-t', 'charon:local', context);
    expect(stderr).toMatch(/importing cache manifest from local/);
    expect(stderr.match(/^#\d+ CACHED$/gm) ?? []).toHaveLength(2);
    const archive = await unpack(tarball);
    const [target] = (await archive.index()).manifests;
    await kindDocker(engines, first, 'load', '-i', tarball);
    expect(await imageId(engines, first, 'charon:local')).toBe(target?.digest);
    const { stdout } = await kindDocker(engines, first, 'run', '--rm', '--network', 'none', 'charon:local');
    expect(stdout).toBe('charon is up\n');
  });

  it('a multi-platform OCI archive loads with its index: same id, both platforms', async () => {
    const tarball = join(work, 'multi.tar');
    await kindDocker(engines, engines.producer, 'buildx', 'build', '--network', 'none', '--platform', 'linux/amd64,linux/arm64',
      '--cache-from', `type=local,src=${cache}`, '--output', `type=oci,dest=${tarball}`, '-t', 'kinds/multi:1', context);
    const archive = await unpack(tarball);
    expect(await archive.has('manifest.json')).toBe(false);
    const [target] = (await archive.index()).manifests;
    expect(target?.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    await kindDocker(engines, second, 'load', '-i', tarball);
    expect(await imageId(engines, second, 'kinds/multi:1')).toBe(target?.digest);
    // The id is the index's digest: the index was kept. Its platforms are listed from API 1.47 on
    // (Docker 27.3); the trixie fallback (Docker 26.1) speaks 1.45.
    const { ApiVersion } = await engineGet<{ ApiVersion: string }>(second, '/version');
    const [major = 0, minor = 0] = ApiVersion.split('.').map(Number);
    if (major === 1 && minor < 47) return;
    const images = await engineGet<ImageSummary[]>(second, '/v1.47/images/json?manifests=1');
    const multi = images.find((summary) => summary.RepoTags?.includes('kinds/multi:1'));
    const platforms = (multi?.Manifests ?? []).filter((manifest) => manifest.Kind === 'image').map((manifest) => manifest.ImageData?.Platform?.architecture);
    expect(platforms.sort()).toEqual(['amd64', 'arm64']);
  });
}, {
  kinds: ['28-classic', '28-containerd'],
  skip: { '28-classic': 'buildx\'s docker driver on the classic store exports no cache, no multi-platform image and no OCI archive' },
});
