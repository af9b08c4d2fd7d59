import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { cli, json } from '../support/cli.ts';
import type { RunningKind } from '../support/engine-kinds.ts';
import { kindDocker } from '../support/engine-matrix.ts';
import { startCli, waitFor } from '../support/faults.ts';

async function bytesRead(pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8').catch(() => '');
  return Number(/^rchar: (\d+)$/m.exec(io)?.[1] ?? 0);
}

/**
 * What "the same image" means on each store (issue 12): between two engines
 * on containerd's store, the very image id (the producer's index or
 * manifest digest, kept byte for byte); everywhere, the config digest and
 * diff ids. Multi-platform images keep every platform; containerd keeps the
 * index. A refused or interrupted load leaves containerd's store with no
 * ingest and no lease, and the next load succeeds.
 */

const exec = promisify(execFile);
const kinds = inject('engineKinds');
const containerd = kinds['28-containerd'];
const classic = kinds['28-classic'];
const podman = kinds.podman;
const legacy = inject('engines');
const modern = containerd.available && classic.available && podman.available;

interface Loaded {
  ok: boolean;
  strategy: string;
  images: Array<{ imageId: string; tags: string[] }>;
  error?: { code: string; message: string; hint?: string };
}

let work: string;

async function writeContext(dir: string, dockerfile: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  await copyFile('/usr/bin/busybox', join(dir, 'busybox'));
  await writeFile(join(dir, 'Dockerfile'), dockerfile);
  return dir;
}

async function idOn(engines: RunningKind, host: string, reference: string): Promise<string> {
  return (await kindDocker(engines, host, 'image', 'inspect', '--format', '{{.Id}}', reference)).stdout.trim();
}

async function diffIdsOn(engines: RunningKind, host: string, reference: string): Promise<string> {
  return (await kindDocker(engines, host, 'image', 'inspect', '--format', '{{json .RootFS.Layers}}', reference)).stdout.trim();
}

async function load(store: string, host: string, ...extra: string[]): Promise<Loaded> {
  return json<Loaded>(await cli(['load', '--store', store, '--json', ...extra], { DOCKER_HOST: host }));
}

/** The containerd of an engine started by scripts/engines.sh: its leases and unfinished ingests. */
async function containerdLeftovers(host: string): Promise<{ leases: string; ingests: string }> {
  const socket = join(host.replace(/^unix:\/\//, '').replace(/\/d\.sock$/, ''), 'exec', 'containerd', 'containerd.sock');
  const ctr = async (...args: string[]): Promise<string> =>
    (await exec('/opt/image-handover/engines/current/usr/bin/ctr', ['--address', socket, '-n', 'moby', ...args])).stdout.split('\n').slice(1).join('\n').trim();
  return { leases: await ctr('leases', 'ls'), ingests: await ctr('content', 'active') };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'handover-identity-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe.skipIf(!modern)('the same image, on every store', () => {
  if (!modern) return;
  const store = (): string => join(work, 'buildkit');
  let producerId: string;
  let configDigest: string;
  let diffIds: string;

  beforeAll(async () => {
    const context = await writeContext(join(work, 'context'), 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nRUN echo identity > /motd\nCMD ["cat", "/motd"]\n');
    await kindDocker(containerd, containerd.producer, 'buildx', 'build', '--network', 'none', '-t', 'identity/app:1', context);
    producerId = await idOn(containerd, containerd.producer, 'identity/app:1');
    diffIds = await diffIdsOn(containerd, containerd.producer, 'identity/app:1');
    const exported = await cli(['export', 'identity/app:1', '--tag', 'charon:local', '--store', store(), '--json'], { DOCKER_HOST: containerd.producer });
    expect(exported.status, exported.stdout + exported.stderr).toBe(0);
    const result = json<{ images: Array<{ imageId: string; manifestDigest: string; keptAsBuilt: boolean }> }>(exported);
    configDigest = result.images[0]!.imageId;
    expect(result.images[0]!.keptAsBuilt).toBe(true);
    expect(result.images[0]!.manifestDigest).toBe(producerId); // BuildKit's index: the image id on containerd's store
  });

  it("a consumer on containerd's store holds it under the producer's very image id, and runs it", async () => {
    const loaded = await load(store(), containerd.consumers[0]!);
    expect(loaded).toMatchObject({ ok: true, strategy: 'oci-layout', images: [{ imageId: producerId, tags: ['charon:local'] }] });
    expect(await idOn(containerd, containerd.consumers[0]!, 'charon:local')).toBe(producerId);
    expect((await kindDocker(containerd, containerd.consumers[0]!, 'run', '--rm', '--network', 'none', 'charon:local')).stdout).toBe('identity\n');
  });

  it('consumers on their own layer store and Podman get the config digest as id, with the same diff ids', async () => {
    for (const [engines, host] of [[classic, classic.consumers[0]!], [podman, podman.consumers[0]!]] as const) {
      const loaded = await load(store(), host);
      expect(loaded.ok, JSON.stringify(loaded.error)).toBe(true);
      expect(loaded.images[0]!.imageId).toBe(configDigest);
      expect(await idOn(engines, host, 'charon:local')).toBe(configDigest);
      expect(await diffIdsOn(engines, host, 'charon:local')).toBe(diffIds);
    }
  });

  it('dockerd 20.10 takes the gzip layers as built', async () => {
    const loaded = await load(store(), legacy.c1);
    expect(loaded.ok, JSON.stringify(loaded.error)).toBe(true);
    expect(loaded.images[0]!.imageId).toBe(configDigest);
  });

  it('--compression re-encodes every layer: a new manifest, so containerd consumers agree on a new id', async () => {
    const exported = json<{ images: Array<{ manifestDigest: string; keptAsBuilt: boolean; imageId: string }> }>(
      await cli(['export', 'identity/app:1', '--tag', 'charon:zstd', '--name', 'zstd', '--compression', 'zstd', '--store', store(), '--json'], { DOCKER_HOST: containerd.producer }),
    );
    expect(exported.images[0]!.keptAsBuilt).toBe(false);
    expect(exported.images[0]!.manifestDigest).not.toBe(producerId);
    for (const host of containerd.consumers.slice(0, 2)) {
      const loaded = await load(store(), host, '--name', 'zstd');
      expect(loaded.images[0]!.imageId).toBe(exported.images[0]!.manifestDigest);
    }
  });
});

describe.skipIf(!modern)('multi-platform images', () => {
  if (!modern) return;
  const store = (): string => join(work, 'multi');
  let indexDigest: string;

  beforeAll(async () => {
    // COPY alone needs no emulation to build for arm64.
    const context = await writeContext(join(work, 'multi-context'), 'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "true"]\n');
    const archive = join(work, 'multi.tar');
    await kindDocker(containerd, containerd.producer, 'buildx', 'build', '--network', 'none', '--platform', 'linux/amd64,linux/arm64', '--output', `type=oci,dest=${archive}`, context);
    const unpacked = join(work, 'multi-unpacked');
    await mkdir(unpacked);
    await exec('tar', ['-xf', archive, '-C', unpacked]);
    indexDigest = (JSON.parse(await readFile(join(unpacked, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> }).manifests[0]!.digest;
    const exported = await cli(['export', '--archive', archive, '--tag', 'charon:multi', '--store', store(), '--json']);
    expect(exported.status, exported.stdout + exported.stderr).toBe(0);
  });

  it('keeps every platform; inspect lists them', async () => {
    const inspected = json<{ images: Array<{ platform: string; indexDigest: string }> }>(await cli(['inspect', '--store', store(), '--json']));
    expect(inspected.images.map((i) => i.platform)).toEqual(['linux/amd64', 'linux/arm64']);
    expect(new Set(inspected.images.map((i) => i.indexDigest))).toEqual(new Set([indexDigest]));
  });

  it("containerd's store keeps the index (the archive's id); other engines take their platform, or --platform's", async () => {
    const onContainerd = await load(store(), containerd.consumers[1]!);
    expect(onContainerd.images[0]!.imageId).toBe(indexDigest);
    const tree = (await kindDocker(containerd, containerd.consumers[1]!, 'image', 'ls', '--tree')).stdout;
    expect(tree).toMatch(/linux\/arm64/);
    const amd64 = await load(store(), classic.consumers[1]!);
    const arm64 = await load(store(), classic.consumers[1]!, '--platform', 'linux/arm64');
    expect(amd64.ok && arm64.ok).toBe(true);
    expect(amd64.images[0]!.imageId).not.toBe(arm64.images[0]!.imageId);
    expect((await kindDocker(classic, classic.consumers[1]!, 'image', 'inspect', '--format', '{{.Architecture}}', 'charon:multi')).stdout.trim()).toBe('arm64');
  });

  it('a platform the bundle lacks fails with PLATFORM_NOT_FOUND naming those it has; a bad --platform is a usage error', async () => {
    const missing = await load(store(), legacy.c2, '--platform', 'linux/s390x');
    expect(missing.error).toMatchObject({ code: 'PLATFORM_NOT_FOUND' });
    expect(missing.error!.message).toContain('linux/amd64, linux/arm64');
    const bad = await load(store(), legacy.c2, '--platform', 'amd64');
    expect(bad.error).toMatchObject({ code: 'USAGE' });
  });
});

describe.skipIf(!modern)('zstd layers as built, for an engine that does not read zstd', () => {
  if (!modern) return;
  const store = (): string => join(work, 'zstd-built');

  beforeAll(async () => {
    const context = await writeContext(join(work, 'zstd-context'), 'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "true"]\n');
    const archive = join(work, 'zstd.tar');
    await kindDocker(containerd, containerd.producer, 'buildx', 'build', '--network', 'none', '--output', `type=oci,dest=${archive},compression=zstd,force-compression=true`, context);
    const exported = await cli(['export', '--archive', archive, '--tag', 'charon:zstd-built', '--store', store(), '--json']);
    expect(exported.status, exported.stdout + exported.stderr).toBe(0);
    expect(json<{ images: Array<{ keptAsBuilt: boolean }> }>(exported).images[0]!.keptAsBuilt).toBe(true);
  });

  it('Docker 28 takes them; dockerd 20.10 is refused before any load with MEDIA_TYPE_UNSUPPORTED and the way out; --compression gzip makes a bundle it loads', async () => {
    expect((await load(store(), classic.consumers[0]!)).ok).toBe(true);
    const refused = await load(store(), legacy.c3);
    expect(refused.error).toMatchObject({ code: 'MEDIA_TYPE_UNSUPPORTED' });
    expect(refused.error!.hint).toContain('--compression gzip');
    expect((await kindDocker(classic, legacy.c3, 'images', '-q', 'charon:zstd-built')).stdout.trim()).toBe('');
    const gzip = await cli(['export', '--archive', join(work, 'zstd.tar'), '--tag', 'charon:zstd-built', '--name', 'gzip', '--compression', 'gzip', '--store', store(), '--json']);
    expect(gzip.status).toBe(0);
    expect((await load(store(), legacy.c3, '--name', 'gzip')).ok).toBe(true);
  });
});

describe.skipIf(!containerd.available)("a refused or interrupted load on containerd's store", () => {
  if (!containerd.available) return;
  const consumer = (): string => containerd.consumers.at(-1)!;
  let store: string;

  beforeAll(async () => {
    store = join(work, 'refused');
    const context = await writeContext(join(work, 'big-context'), 'FROM scratch\nCOPY busybox /bin/busybox\nCOPY big /big\n');
    await exec('head', ['-c', String(96 * 1024 * 1024), '/dev/urandom'], { encoding: 'buffer', maxBuffer: 128 * 1024 * 1024 }).then(async ({ stdout }) => await writeFile(join(context, 'big'), stdout));
    await kindDocker(containerd, containerd.producer, 'buildx', 'build', '--network', 'none', '-t', 'identity/big:1', context);
    const exported = await cli(['export', 'identity/big:1', '--tag', 'charon:big', '--store', store, '--json'], { DOCKER_HOST: containerd.producer });
    expect(exported.status, exported.stdout + exported.stderr).toBe(0);
  });

  /** The largest blob of the bundle, which is the big layer, and its bytes. */
  async function bigBlob(): Promise<{ path: string; bytes: Buffer }> {
    const dir = join(store, 'names', 'docker-image', 'blobs', 'sha256');
    let largest = { path: '', bytes: Buffer.alloc(0) };
    for (const name of await readdir(dir)) {
      const bytes = await readFile(join(dir, name));
      if (bytes.length > largest.bytes.length) largest = { path: join(dir, name), bytes };
    }
    return largest;
  }

  async function replace(path: string, bytes: Buffer): Promise<void> {
    await rm(path);
    await writeFile(path, bytes);
  }

  it('a flipped byte: refused, no ingest or lease left, and the intact bundle loads next', async () => {
    const { path, bytes } = await bigBlob();
    const flipped = Buffer.from(bytes);
    flipped[flipped.length >> 1] = flipped[flipped.length >> 1]! ^ 0xff;
    await replace(path, flipped);
    try {
      expect((await load(store, consumer())).error).toMatchObject({ code: 'BLOB_DIGEST_MISMATCH' });
      expect(await containerdLeftovers(consumer())).toEqual({ leases: '', ingests: '' });
    } finally {
      await replace(path, bytes);
    }
    const loaded = await load(store, consumer());
    expect(loaded.ok, JSON.stringify(loaded.error)).toBe(true);
    await kindDocker(containerd, consumer(), 'image', 'rm', '-f', 'charon:big');
    await kindDocker(containerd, consumer(), 'image', 'prune', '-af');
  });

  it('SIGINT mid-stream: exit 130, nothing tagged, no ingest or lease left, and the next load succeeds', async () => {
    const running = startCli(['load', '--store', store, '--json'], { DOCKER_HOST: consumer() });
    // 30 MiB into the 96 MiB layer: the upload is under way.
    await waitFor('30 MiB read', async () => (await bytesRead(running.child.pid!)) >= 30 * 1024 * 1024 || running.child.exitCode !== null, 120_000, 5);
    expect(running.child.exitCode, 'the load ended before it could be interrupted').toBeNull();
    running.child.kill('SIGINT');
    const result = await running.done;
    expect(result.status, result.stdout + result.stderr).toBe(130);
    expect((await kindDocker(containerd, consumer(), 'images', '-q', 'charon:big')).stdout.trim()).toBe('');
    expect(await containerdLeftovers(consumer())).toEqual({ leases: '', ingests: '' });
    expect((await load(store, consumer())).ok).toBe(true);
  });
});
