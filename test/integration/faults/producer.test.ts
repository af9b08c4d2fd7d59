import { mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporaryName } from '../../../src/store/layout/blob-directory.ts';
import { cli, json } from '../../support/cli.ts';
import { buildBigImage, entriesOf, errorOf, mountTmpfs, runCli, sharedBigImage, startCli, waitFor, type RunningCli } from '../../support/faults.ts';
import { buildImage, docker, importImage } from '../../support/docker.ts';
import { sharedTestImages, type TestImages } from '../../support/images.ts';
import { forEachEngineKind, namedEngines, onOneKind } from '../../support/engine-matrix.ts';

/**
 * The producer side failing: killed mid-export, interrupted, out of disk,
 * racing another export. A reader must only ever see whole bundles, the
 * next export must succeed, and what the dead writer left is reclaimed.
 * (Spawns bin/handover.js's code from lib/: run `npm run build` first.)
 */

forEachEngineKind((_kind, kindEngines) => {
  const engines = namedEngines(kindEngines);
  const producer = { DOCKER_HOST: engines.producer };

  let images: TestImages;
  let big: string;
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'handover-producer-'));
    images = await sharedTestImages(engines.producer);
    big = await buildBigImage(engines.producer);
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  async function exportJson(store: string, name: string, source: string, env = producer): Promise<string> {
    const result = await cli(['export', source, '--tag', 'charon:local', '--name', name, '--store', store, '--json'], env);
    expect(result.status, result.stdout + result.stderr).toBe(0);
    return json<{ bundleDigest: string }>(result).bundleDigest;
  }

  async function nameDigest(store: string, name: string): Promise<string> {
    return `sha256:${(await readlink(join(store, 'names', name))).split('/').pop()!}`;
  }

  async function expectWhole(store: string, name: string, digest: string): Promise<void> {
    expect(await nameDigest(store, name)).toBe(digest);
    const inspected = await cli(['inspect', '--name', name, '--store', store, '--verify', '--expect', digest, '--json']);
    expect(inspected.status, inspected.stdout).toBe(0);
  }

  /** Bytes a process has read so far (files and sockets): for an export, mostly the image from the engine. */
  async function bottomImagesLeft(): Promise<string> {
    return (await docker(engines.producer, 'images', '-aq', '--filter', 'label=io.github.image-handover.partial-of')).trim();
  }

  async function bytesRead(pid: number): Promise<number> {
    const io = await readFile(`/proc/${pid}/io`, 'utf8').catch(() => '');
    return Number(/^rchar: (\d+)$/m.exec(io)?.[1] ?? 0);
  }

  describe('the producer killed (SIGKILL) during an export', () => {
    it('at four points never leaves a partial bundle under the name; the next export succeeds and reclaims what the dead left', async () => {
      const store = join(work, 'killed');
      const old = await exportJson(store, 'docker-image', images.app);
      // Early (first bytes), after the first big layer, after the second, and near the end.
      const leftovers = new Set<string>();
      for (const mib of [8, 90, 170, 215]) {
        const running = startCli(['export', big, '--tag', 'charon:local', '--name', 'docker-image', '--store', store], producer);
        const pid = running.child.pid!;
        // A reader meanwhile: it only ever finds the old bundle, whole.
        const reading = readerWhile(store, 'docker-image', running);
        await waitFor(`${mib} MiB read`, async () => (await bytesRead(pid)) >= mib * 1024 * 1024 || running.child.exitCode !== null, 120_000, 5);
        running.child.kill('SIGKILL');
        const result = await running.done;
        expect(new Set(await reading)).toEqual(new Set([old]));
        expect(result.signal, `the export finished before ${mib} MiB: ${result.stderr}`).toBe('SIGKILL');
        await expectWhole(store, 'docker-image', old);
        // Blobs it finished are whole and stay for the next export to reuse; they are all it published.
        for (const entry of await entriesOf(join(store, 'tmp'))) leftovers.add(entry);
      }
      // The dead left partial blobs behind (a kill mid-blob always does); later writers reclaim them.
      expect(leftovers.size).toBeGreaterThan(0);
      const next = await exportJson(store, 'docker-image', big);
      await expectWhole(store, 'docker-image', next);
      expect(await entriesOf(join(store, 'tmp'))).toEqual([]);
      expect((await entriesOf(join(store, 'names'))).filter((n) => n.startsWith('.'))).toEqual([]);
    });

    it('temporaries of dead writers (tmp/ files and directories, names/. pointers) are reclaimed; a live writer\'s are kept', async () => {
      const store = join(work, 'reclaim');
      await exportJson(store, 'docker-image', images.worker);
      const dead = await deadPid();
      const ofDead = (prefix: string): string => temporaryName(prefix).replace(`-${process.pid}-`, `-${dead}-`);
      const deadBlob = ofDead('blob');
      const deadBundle = ofDead('bundle');
      const deadPointer = `.${ofDead('docker-image')}`;
      const liveBlob = temporaryName('blob');
      await writeFile(join(store, 'tmp', deadBlob), 'partial');
      await mkdir(join(store, 'tmp', deadBundle, 'blobs'), { recursive: true });
      await writeFile(join(store, 'tmp', liveBlob), 'being written');
      await symlink('../bundles/0000', join(store, 'names', deadPointer));
      await exportJson(store, 'other', images.worker);
      expect(await entriesOf(join(store, 'tmp'))).toEqual([liveBlob]);
      expect(await entriesOf(join(store, 'names'))).toEqual(['docker-image', 'other']);
    });
  });

  /** Opens and reads the named bundle (metadata, each verified) over and over while a writer runs; returns the digests it saw. */
  async function readerWhile(store: string, name: string, writer: RunningCli): Promise<string[]> {
    const seen: string[] = [];
    while (writer.child.exitCode === null && writer.child.signalCode === null) {
      const result = await cli(['inspect', '--name', name, '--store', store, '--json']);
      // Failures are recorded, not thrown: the caller compares what was seen once the writer is gone.
      seen.push(result.status === 0 ? json<{ bundleDigest: string }>(result).bundleDigest : `failed: ${result.stdout}`);
    }
    return seen;
  }

  /** A pid that no process has: that of a process that ran and exited. */
  async function deadPid(): Promise<number> {
    const running = startCli(['--version']);
    const pid = running.child.pid!;
    await running.done;
    return pid;
  }

  describe('the producer interrupted', () => {
    it.each([['SIGINT'], ['SIGTERM']] as const)('by %s mid-export exits 130 with INTERRUPTED, publishes nothing and leaves nothing in tmp', async (signal) => {
      const store = join(work, `interrupted-${signal}`);
      const old = await exportJson(store, 'docker-image', images.app);
      const running = startCli(['export', big, '--tag', 'charon:local', '--name', 'docker-image', '--store', store, '--json'], producer);
      const pid = running.child.pid!;
      await waitFor('60 MiB read', async () => (await bytesRead(pid)) >= 60 * 1024 * 1024 || running.child.exitCode !== null, 120_000, 5);
      running.child.kill(signal);
      const result = await running.done;
      expect(result.status, result.stdout + result.stderr).toBe(130);
      expect(errorOf(result).code).toBe('INTERRUPTED');
      await expectWhole(store, 'docker-image', old);
      expect(await entriesOf(join(store, 'tmp'))).toEqual([]);
      expect(await bottomImagesLeft()).toBe('');
    });

    it('by SIGINT while the bottom layer of a head start streams exits 130 and leaves no bottom image on the engine', async () => {
      const store = join(work, 'interrupted-head-start');
      const base = 'handover-faults/big-bottom-base:1';
      const image = 'handover-faults/big-bottom:1';
      await importImage(engines.producer, base, [{ name: 'bottom.bin', size: 96 * 1024 * 1024, content: () => [randomBytes(96 * 1024 * 1024)] }]);
      await buildImage(engines.producer, image, `FROM ${base}\nCOPY top /top\n`, { top: 'top layer' });
      const running = startCli(['export', image, '--name', 'docker-image', '--store', store, '--json'], { ...producer, HANDOVER_HEAD_START_BYTES: '1' });
      const pid = running.child.pid!;
      // The bottom image's save is read first: 20 MiB in, it is still streaming.
      await waitFor('20 MiB read', async () => (await bytesRead(pid)) >= 20 * 1024 * 1024 || running.child.exitCode !== null, 120_000, 5);
      running.child.kill('SIGINT');
      const result = await running.done;
      expect(result.status, result.stdout + result.stderr).toBe(130);
      expect(errorOf(result).code).toBe('INTERRUPTED');
      expect(await bottomImagesLeft()).toBe('');
      expect(await entriesOf(join(store, 'tmp'))).toEqual([]);
    });
  });

  describe('the store\'s disk filling up', () => {
    it('an export to a full store (an 8 MiB tmpfs) exits 7 with STORE_FULL, publishes nothing, leaves nothing in tmp; a later export that fits succeeds', async () => {
      const tmpfs = await mountTmpfs('8m');
      try {
        const store = join(tmpfs.dir, 'store');
        const result = await runCli(['export', big, '--tag', 'charon:local', '--name', 'docker-image', '--store', store, '--json'], producer);
        expect(errorOf(result).code, result.stdout + result.stderr).toBe('STORE_FULL');
        expect(result.status).toBe(7);
        expect(await entriesOf(join(store, 'names'))).toEqual([]);
        expect(await entriesOf(join(store, 'tmp'))).toEqual([]);
        expect(await bottomImagesLeft()).toBe('');
        // What the failed export held is free again: the small image fits in the same 8 MiB.
        const digest = await exportJson(store, 'docker-image', images.app);
        await expectWhole(store, 'docker-image', digest);
      } finally {
        await tmpfs.unmount();
      }
    });
  });

  describe('two exports of the same name at once', () => {
    it('leave one whole bundle, exactly one of the two, never a mix', async () => {
      const store = join(work, 'race');
      await exportJson(store, 'seed', images.worker);
      const exports = [big, images.app].map((source) =>
        startCli(['export', source, '--tag', 'charon:local', '--name', 'docker-image', '--store', store, '--json'], producer),
      );
      const results = await Promise.all(exports.map(async (e) => await e.done));
      const digests = results.map((r) => {
        expect(r.status, r.stdout + r.stderr).toBe(0);
        return (JSON.parse(r.stdout) as { bundleDigest: string }).bundleDigest;
      });
      expect(new Set(digests).size).toBe(2);
      const winner = await nameDigest(store, 'docker-image');
      expect(digests).toContain(winner);
      await expectWhole(store, 'docker-image', winner);
      expect(await entriesOf(join(store, 'tmp'))).toEqual([]);
    });
  });
}, onOneKind('the store\'s atomic publishing and clean-up, the same whichever engine feeds it (an interrupted export on every kind: below)'));

// Each kind's engine sends its save its own way (containerd's store streams its blobs from the first byte;
// the others stage the save first, and export gives their bottom layer a head start): on each, an
// interrupted export publishes nothing and leaves nothing on the engine.
forEachEngineKind((kind, kindEngines) => {
  it(`by SIGINT mid-export from ${kind} exits 130 with INTERRUPTED, publishes nothing, leaves nothing in tmp and no bottom image on the engine`, async () => {
    const big = await sharedBigImage(kindEngines.producer, 120);
    const images = await sharedTestImages(kindEngines.producer);
    const work = await mkdtemp(join(tmpdir(), `handover-producer-${kind}-`));
    try {
      const store = join(work, 'store');
      const first = await cli(['export', images.app, '--tag', 'charon:local', '--name', 'docker-image', '--store', store, '--json'], { DOCKER_HOST: kindEngines.producer });
      expect(first.status, first.stdout).toBe(0);
      const old = json<{ bundleDigest: string }>(first).bundleDigest;
      const running = startCli(['export', big, '--tag', 'charon:local', '--name', 'docker-image', '--store', store, '--json'], { DOCKER_HOST: kindEngines.producer, HANDOVER_HEAD_START_BYTES: '1' });
      const pid = running.child.pid!;
      await waitFor('40 MiB read', async () => (await readBytes(pid)) >= 40 * 1024 * 1024 || running.child.exitCode !== null, 120_000, 5);
      running.child.kill('SIGINT');
      const result = await running.done;
      expect(result.status, result.stdout + result.stderr).toBe(130);
      expect(errorOf(result).code).toBe('INTERRUPTED');
      expect(`sha256:${(await readlink(join(store, 'names', 'docker-image'))).split('/').pop()!}`).toBe(old);
      expect(await entriesOf(join(store, 'tmp'))).toEqual([]);
      expect((await docker(kindEngines.producer, 'images', '-aq', '--filter', 'label=io.github.image-handover.partial-of')).trim()).toBe('');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
}, { skip: { '20.10': 'on 20.10 above, with SIGTERM and SIGINT during the head start' } });

async function readBytes(pid: number): Promise<number> {
  const io = await readFile(`/proc/${pid}/io`, 'utf8').catch(() => '');
  return Number(/^rchar: (\d+)$/m.exec(io)?.[1] ?? 0);
}
