import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zstdCompressSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, json } from '../../support/cli.ts';
import { forEachEngineKind, namedEngines, onOneKind } from '../../support/engine-matrix.ts';
import { imageId, importImage, removeImages, runContainer } from '../../support/docker.ts';
import { clearImages, errorOf, forgeBundle, readStoredBundle, runCli, sha256Hex, tarBytes, zeroBomb } from '../../support/faults.ts';
import { sharedTestImages, type TestImages } from '../../support/images.ts';

/**
 * Bundles a store may hand a consumer that handover did not write as they
 * are: damaged, crafted to exhaust memory, or swapped by someone who can
 * write to the store. Each is refused with its own code before any tag
 * moves; pinning the bundle digest is what refuses a self-consistent swap.
 */

forEachEngineKind((_kind, kindEngines) => {
  const engines = namedEngines(kindEngines);
  const producer = { DOCKER_HOST: engines.producer };
  const consumer = { DOCKER_HOST: engines.c2 };
  const UNCOMPRESSED_SIZE = 'io.github.image-handover.uncompressed.size';
  /** Peak memory a refused hostile load may take: the CLI itself is about 60-80 MiB. */
  const RSS_BOUND_KB = 200 * 1024;

  let images: TestImages;
  let work: string;
  let store: string;
  let digest: string;
  let previous: string;
  let copies = 0;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'handover-hostile-'));
    images = await sharedTestImages(engines.producer);
    store = join(work, 'store');
    const exported = await cli(['export', images.app, '--tag', 'charon:local', '--name', 'docker-image', '--store', store, '--json'], producer);
    expect(exported.status, exported.stderr).toBe(0);
    digest = json<{ bundleDigest: string }>(exported).bundleDigest;
    // The consumer's charon:local holds another image: every refusal must leave it there.
    // An image sharing no layer with the app, on a consumer holding nothing else: a layer the
    // engine already holds is not streamed again, and these tests damage layers that must be.
    const seed = join(work, 'seed');
    const seedFile = Buffer.from('seed\n');
    await importImage(engines.producer, 'handover-faults/seed:1', [{ name: 'seed.txt', size: seedFile.length, content: function* () { yield seedFile; } }]);
    expect((await cli(['export', 'handover-faults/seed:1', '--tag', 'charon:local', '--name', 'seed', '--store', seed], producer)).status).toBe(0);
    await clearImages(engines.c2);
    expect((await cli(['load', '--name', 'seed', '--store', seed], consumer)).status).toBe(0);
    previous = (await imageId(engines.c2, 'charon:local'))!;
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  /** A private copy of the store (hard links broken) to damage. */
  async function copyOfStore(): Promise<string> {
    const root = join(work, `copy-${++copies}`);
    await cp(store, root, { recursive: true, verbatimSymlinks: true });
    return root;
  }

  async function expectTagUntouched(): Promise<void> {
    expect(await imageId(engines.c2, 'charon:local')).toBe(previous);
  }

  async function loadFails(root: string, code: string, status: number, extra: string[] = []): Promise<void> {
    const result = await cli(['load', '--store', root, '--json', ...extra], consumer);
    expect(errorOf(result).code, result.stdout).toBe(code);
    expect(result.status).toBe(status);
    await expectTagUntouched();
  }

  describe('a damaged store', () => {
    it('a bundle without index.json exits 3 with BUNDLE_NOT_FOUND', async () => {
      const root = await copyOfStore();
      await rm(join((await readStoredBundle(root, 'docker-image')).dir, 'index.json'));
      await loadFails(root, 'BUNDLE_NOT_FOUND', 3);
    });

    it('an index.json that is not JSON exits 5 with BUNDLE_MALFORMED', async () => {
      const root = await copyOfStore();
      await forgeBundle(root, 'docker-image', { indexBytes: () => Buffer.from('{"schemaVersion": 2, "manifests": [') });
      await loadFails(root, 'BUNDLE_MALFORMED', 5);
    });

    it('a manifest descriptor with a wrong size exits 5 with BLOB_SIZE_MISMATCH', async () => {
      const root = await copyOfStore();
      await forgeBundle(root, 'docker-image', { index: (index) => void (index.manifests[0]!.size += 1) });
      await loadFails(root, 'BLOB_SIZE_MISMATCH', 5);
    });

    it('a layer descriptor with a wrong size (in a self-consistent manifest) exits 5 with BLOB_SIZE_MISMATCH', async () => {
      const root = await copyOfStore();
      await forgeBundle(root, 'docker-image', { image: ({ manifest }) => void (manifest.layers[1]!.size -= 1) });
      await loadFails(root, 'BLOB_SIZE_MISMATCH', 5);
    });

    it('a layer of a media type handover does not know exits 6 with MEDIA_TYPE_UNSUPPORTED', async () => {
      const root = await copyOfStore();
      await forgeBundle(root, 'docker-image', { image: ({ manifest }) => void (manifest.layers[0]!.mediaType = 'application/vnd.example.layer.v1.tar+lz4') });
      await loadFails(root, 'MEDIA_TYPE_UNSUPPORTED', 6);
    });

    // Bundles hold image indexes now (multi-platform images): an entry that says index but names a manifest is malformed.
    it('an index entry that claims a multi-platform index but names a manifest exits 5 with BUNDLE_MALFORMED', async () => {
      const root = await copyOfStore();
      await forgeBundle(root, 'docker-image', { index: (index) => void (index.manifests[0]!.mediaType = 'application/vnd.oci.image.index.v1+json') });
      await loadFails(root, 'BUNDLE_MALFORMED', 5);
    });

    it('a descriptor with an absolute path exits 5 with PATH_UNSAFE', async () => {
      const root = await copyOfStore();
      await forgeBundle(root, 'docker-image', { image: ({ manifest }) => void (manifest.layers[0]!.digest = '/etc/shadow') });
      await loadFails(root, 'PATH_UNSAFE', 5);
    });
  });

  describe('bombs are refused within limits, in bounded memory', () => {
    it('a layer that decompresses to far more than its recorded size (a 1 GiB zstd bomb) exits 5 with BLOB_SIZE_MISMATCH', async () => {
      const root = await copyOfStore();
      const bomb = await zeroBomb(1024 * 1024 * 1024);
      expect(bomb.compressed.length).toBeLessThan(256 * 1024);
      await forgeBundle(root, 'docker-image', {
        image: async ({ manifest, config, addBlob }) => {
          const last = manifest.layers.length - 1;
          const blob = await addBlob(bomb.compressed);
          // Consistent everywhere (digest, size, diff id) but the recorded uncompressed size.
          manifest.layers[last] = { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', ...blob, annotations: { [UNCOMPRESSED_SIZE]: String(1024 * 1024) } };
          config.rootfs.diff_ids[last] = bomb.diffId;
        },
      });
      const result = await runCli(['load', '--store', root, '--json'], consumer);
      expect(errorOf(result).code, result.stdout).toBe('BLOB_SIZE_MISMATCH');
      expect(result.status).toBe(5);
      expect(result.maxRssKb).toBeLessThan(RSS_BOUND_KB);
      await expectTagUntouched();
    });

    it('an index.json over 4 MiB exits 5 with LIMIT_EXCEEDED before it is parsed', async () => {
      const root = await copyOfStore();
      await forgeBundle(root, 'docker-image', { indexBytes: (index) => Buffer.from(JSON.stringify({ ...index, padding: 'x'.repeat(5 * 1024 * 1024) })) });
      const result = await runCli(['load', '--store', root, '--json'], consumer);
      expect(errorOf(result).code).toBe('LIMIT_EXCEEDED');
      expect(result.status).toBe(5);
      expect(result.maxRssKb).toBeLessThan(RSS_BOUND_KB);
      await expectTagUntouched();
    });

    it('an index.json nested 1.9 million levels deep (within 4 MiB) exits 5 with LIMIT_EXCEEDED in bounded memory', async () => {
      const root = await copyOfStore();
      const depth = 1_900_000;
      await forgeBundle(root, 'docker-image', {
        indexBytes: () => Buffer.from(`{"schemaVersion":2,"manifests":${'['.repeat(depth)}${']'.repeat(depth)}}`),
      });
      const result = await runCli(['load', '--store', root, '--json'], consumer);
      expect(errorOf(result).code).toBe('LIMIT_EXCEEDED');
      expect(result.status).toBe(5);
      // Parsing it would take about 250 MiB; the depth scan refuses it first.
      expect(result.maxRssKb).toBeLessThan(RSS_BOUND_KB);
      await expectTagUntouched();
    });

    it('a self-consistent config nested 7 million levels deep (14 MiB, under the 16 MiB limit) exits 5 with LIMIT_EXCEEDED in bounded memory', async () => {
      const root = await copyOfStore();
      const depth = 7_000_000;
      await forgeBundle(root, 'docker-image', {
        configBytes: (config) => Buffer.from(JSON.stringify({ ...config, deep: 0 }).replace('"deep":0', `"deep":${'['.repeat(depth)}${']'.repeat(depth)}`)),
      });
      const result = await runCli(['load', '--store', root, '--json'], consumer);
      expect(errorOf(result).code, result.stdout).toBe('LIMIT_EXCEEDED');
      expect(result.status).toBe(5);
      // Parsing it would take about 900 MiB.
      expect(result.maxRssKb).toBeLessThan(RSS_BOUND_KB);
      await expectTagUntouched();
    });
  });

  describe('artifact poisoning: a bundle replaced between export and load', () => {
    it('by a different image under the same name: refused when pinned (BUNDLE_DIGEST_MISMATCH), loaded when not', async () => {
      const root = await copyOfStore();
      const swapped = await cli(['export', images.worker, '--tag', 'charon:local', '--name', 'docker-image', '--store', root, '--json'], producer);
      expect(swapped.status).toBe(0);
      expect(json<{ bundleDigest: string }>(swapped).bundleDigest).not.toBe(digest);

      await loadFails(root, 'BUNDLE_DIGEST_MISMATCH', 5, ['--expect', digest]);
      // Why pinning is needed: the swapped bundle is self-consistent, so an unpinned load verifies and tags it.
      await removeImages(engines.c2, 'charon:local');
      const unpinned = await cli(['load', '--store', root, '--json'], consumer);
      expect(unpinned.status, unpinned.stdout).toBe(0);
      expect((await runContainer(engines.c2, 'charon:local')).trim()).toBe('worker ready');
      await restorePrevious();
    });

    it('the same tag on an altered layer, with index, manifest and config re-made to match: refused when pinned, loaded when not', async () => {
      const root = await copyOfStore();
      const tar = await tarBytes({ greeting: 'hello from the attacker\n' });
      const forged = await forgeBundle(root, 'docker-image', {
        image: async ({ manifest, config, addBlob }) => {
          const last = manifest.layers.length - 1;
          const blob = await addBlob(zstdCompressSync(tar));
          manifest.layers[last] = { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', ...blob, annotations: { [UNCOMPRESSED_SIZE]: String(tar.length) } };
          config.rootfs.diff_ids[last] = `sha256:${sha256Hex(tar)}`;
        },
      });
      expect(forged).not.toBe(digest);
      const tags = (await readStoredBundle(root, 'docker-image')).index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']);
      expect(tags).toEqual(['charon:local']);

      await loadFails(root, 'BUNDLE_DIGEST_MISMATCH', 5, ['--expect', digest]);
      await removeImages(engines.c2, 'charon:local');
      const unpinned = await cli(['load', '--store', root, '--json'], consumer);
      expect(unpinned.status, unpinned.stdout).toBe(0);
      expect(await runContainer(engines.c2, 'charon:local')).toBe('hello from the attacker\n');
      await restorePrevious();
    });
  });

  /** Puts the consumer's charon:local back on the seed image after a test loaded over it. */
  async function restorePrevious(): Promise<void> {
    await removeImages(engines.c2, 'charon:local');
    expect((await cli(['load', '--name', 'seed', '--store', join(work, 'seed')], consumer)).status).toBe(0);
    previous = (await imageId(engines.c2, 'charon:local'))!;
  }
}, onOneKind('handover\'s own verification of the bundle, the same whatever the engine; refused and interrupted loads on every kind: faults/load-recovery.test.ts'));
