import { cp, mkdtemp, readFile, readdir, readlink, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliProcess, json } from '../support/cli.ts';
import { forEachEngineKind, namedEngines, onOneKind } from '../support/engine-matrix.ts';
import { docker, imageId, removeImages } from '../support/docker.ts';
import { buildTestImages, type TestImages } from '../support/images.ts';

forEachEngineKind((_kind, kindEngines) => {
  const engines = namedEngines(kindEngines);
  const producer = { DOCKER_HOST: engines.producer };
  const consumer = { DOCKER_HOST: engines.c4 };
  const nowhere = { DOCKER_HOST: 'unix:///tmp/handover-no-engine-here.sock' };

  let images: TestImages;
  let work: string;
  let store: string;
  let digest: string;

  interface ErrorJson {
    ok: false;
    error: { code: string; exitStatus: number; message: string; hint?: string };
  }

  function errorOf(result: Awaited<ReturnType<typeof cli>>): ErrorJson['error'] {
    return json<ErrorJson>(result).error;
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'handover-bad-'));
    images = await buildTestImages(engines.producer);
    store = join(work, 'store');
    const exported = await cli(['export', images.app, '--tag', 'charon:local', '--name', 'docker-image', '--store', store, '--json'], producer);
    expect(exported.status, exported.stderr).toBe(0);
    digest = json<{ bundleDigest: string }>(exported).bundleDigest;
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  /** A private copy of the store (hard links broken) whose bundle a test may damage. */
  async function damagedCopy(label: string): Promise<{ root: string; bundle: string }> {
    const root = join(work, label);
    await cp(store, root, { recursive: true, verbatimSymlinks: true });
    const target = await readlink(join(root, 'names', 'docker-image'));
    return { root, bundle: join(root, 'names', target) };
  }

  async function layerPaths(bundle: string): Promise<string[]> {
    const index = JSON.parse(await readFile(join(bundle, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const manifest = JSON.parse(await readFile(join(bundle, 'blobs', 'sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: Array<{ digest: string; size: number }> };
    return manifest.layers.map((l) => join(bundle, 'blobs', 'sha256', l.digest.slice(7)));
  }

  describe('image references are refused before any work', () => {
    it('an empty reference (an unset CI output) exits 2 with REF_EMPTY, without touching an engine', async () => {
      const result = await cli(['export', '', '--tag', 'charon:local', '--store', store, '--json'], nowhere);
      expect(result.status).toBe(2);
      const error = errorOf(result);
      expect(error.code).toBe('REF_EMPTY');
      expect(error.hint).toMatch(/CI output/);
    });

    it('an empty --tag exits 2 with REF_EMPTY', async () => {
      const result = await cli(['export', images.app, '--tag', ' ', '--store', store], nowhere);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('[REF_EMPTY]');
    });

    it.each([['Charon:Local'], ['charon:'], ['registry.example.com/:tag'], ['a b'], ['charon:local@sha256:1234']])('a malformed reference %j exits 2 with REF_INVALID', async (ref) => {
      const result = await cli(['export', ref, '--store', store, '--json'], nowhere);
      expect(result.status).toBe(2);
      expect(errorOf(result).code).toBe('REF_INVALID');
    });
  });

  describe('the engine', () => {
    it('an image the engine lacks exits 3 with IMAGE_NOT_FOUND', async () => {
      const result = await cli(['export', 'no-such-image:1', '--store', store, '--json'], producer);
      expect(result.status).toBe(3);
      const error = errorOf(result);
      expect(error.code).toBe('IMAGE_NOT_FOUND');
      expect(error.message).toContain("'no-such-image:1'");
    });

    it('an engine that does not answer exits 4 and names the socket it tried', async () => {
      const result = await cli(['export', images.app, '--store', store], nowhere);
      expect(result.status).toBe(4);
      expect(result.stderr).toContain('[ENGINE_UNREACHABLE]');
      expect(result.stderr).toContain('unix:///tmp/handover-no-engine-here.sock');
      const load = await cli(['load', '--store', store], nowhere);
      expect(load.status).toBe(4);
    });
  });

  describe('the store', () => {
    it('a store that does not exist exits 3 with STORE_NOT_FOUND', async () => {
      const result = await cli(['load', '--store', join(work, 'missing'), '--json'], consumer);
      expect(result.status).toBe(3);
      expect(errorOf(result).code).toBe('STORE_NOT_FOUND');
    });

    it('a name that does not exist exits 3 and lists the names there are', async () => {
      const result = await cli(['load', '--name', 'nope', '--store', store, '--json'], consumer);
      expect(result.status).toBe(3);
      const error = errorOf(result);
      expect(error.code).toBe('BUNDLE_NOT_FOUND');
      expect(error.hint).toContain('docker-image');
    });

    it('a store path that is a file exits 3', async () => {
      const file = join(work, 'a-file');
      await writeFile(file, 'x');
      const result = await cli(['ls', '--store', file], {});
      expect(result.status).toBe(3);
      expect(result.stderr).toContain('is a file, not a directory');
    });
  });

  // The consumer already holds the base layers (they come with the previous
  // image), and load does not read layers the engine holds; so the damage is
  // done to the app's own layers, which must be read.
  describe('damaged bundles never reach a tag', () => {
    let previous: string;

    beforeAll(async () => {
      // The consumer's charon:local points at another image: a failed load must leave it there.
      const seed = await cli(['export', images.worker, '--tag', 'charon:local', '--name', 'previous', '--store', join(work, 'seed'), '--json'], producer);
      expect(seed.status, seed.stderr).toBe(0);
      await removeImages(engines.c4, 'charon:local');
      expect((await cli(['load', '--name', 'previous', '--store', join(work, 'seed')], consumer)).status).toBe(0);
      previous = (await imageId(engines.c4, 'charon:local'))!;
      expect(previous).toBeDefined();
    });

    async function expectTagUntouched(): Promise<void> {
      expect(await imageId(engines.c4, 'charon:local')).toBe(previous);
      // And the damaged image did not sneak in untagged either.
      expect(await imageId(engines.c4, json<{ images: Array<{ imageId: string }> }>(await cli(['inspect', '--store', store, '--json'])).images[0]!.imageId)).toBeUndefined();
    }

    it('a missing blob exits 5 with BLOB_MISSING', async () => {
      const { root, bundle } = await damagedCopy('missing-blob');
      await rm((await layerPaths(bundle)).at(-1)!);
      const result = await cli(['load', '--store', root, '--json'], consumer);
      expect(result.status).toBe(5);
      expect(errorOf(result).code).toBe('BLOB_MISSING');
      await expectTagUntouched();
    });

    it('a truncated blob exits 5 with BLOB_SIZE_MISMATCH', async () => {
      const { root, bundle } = await damagedCopy('truncated-blob');
      const layers = await layerPaths(bundle);
      await truncate(layers.at(-1)!, 100);
      const result = await cli(['load', '--store', root, '--json'], consumer);
      expect(result.status).toBe(5);
      expect(errorOf(result).code).toBe('BLOB_SIZE_MISMATCH');
      await expectTagUntouched();
    });

    it('an altered blob (one byte flipped) exits 5 with BLOB_DIGEST_MISMATCH', async () => {
      const { root, bundle } = await damagedCopy('altered-blob');
      const layer = (await layerPaths(bundle)).at(-2)!;
      const bytes = await readFile(layer);
      const at = Math.floor(bytes.length / 2);
      bytes[at] = bytes[at]! ^ 0xff;
      await writeFile(layer, bytes);
      const result = await cli(['load', '--store', root, '--json'], consumer);
      expect(result.status).toBe(5);
      expect(errorOf(result).code).toBe('BLOB_DIGEST_MISMATCH');
      await expectTagUntouched();
    });

    it('a bundle other than the pinned one exits 5 with BUNDLE_DIGEST_MISMATCH before the engine sees anything', async () => {
      const other = `sha256:${'0'.repeat(64)}`;
      const result = await cli(['load', '--store', store, '--expect', other, '--json'], consumer);
      expect(result.status).toBe(5);
      const error = errorOf(result);
      expect(error.code).toBe('BUNDLE_DIGEST_MISMATCH');
      expect(error.message).toContain(digest);
      await expectTagUntouched();
    });

    it('a bundle of a newer format version exits 6 with BUNDLE_VERSION_UNSUPPORTED', async () => {
      const { root, bundle } = await damagedCopy('future-version');
      const indexPath = join(bundle, 'index.json');
      const index = JSON.parse(await readFile(indexPath, 'utf8')) as { annotations: Record<string, string> };
      index.annotations['io.github.image-handover.format'] = '99';
      await writeFile(indexPath, JSON.stringify(index));
      const result = await cli(['load', '--store', root, '--json'], consumer);
      expect(result.status).toBe(6);
      expect(errorOf(result).code).toBe('BUNDLE_VERSION_UNSUPPORTED');
      expect(errorOf(result).hint).toMatch(/Upgrade handover/);
    });

    it('a descriptor whose path would leave the bundle exits 5 with PATH_UNSAFE', async () => {
      const { root, bundle } = await damagedCopy('escaping-path');
      const indexPath = join(bundle, 'index.json');
      const index = JSON.parse(await readFile(indexPath, 'utf8')) as { manifests: Array<{ digest: string }> };
      index.manifests[0]!.digest = 'sha256:../../../../etc/passwd';
      await writeFile(indexPath, JSON.stringify(index));
      const result = await cli(['load', '--store', root, '--json'], consumer);
      expect(result.status).toBe(5);
      expect(errorOf(result).code).toBe('PATH_UNSAFE');
      await expectTagUntouched();
    });

    it('a blob replaced by a symlink out of the bundle exits 5 with PATH_UNSAFE', async () => {
      const { root, bundle } = await damagedCopy('symlinked-blob');
      const layer = (await layerPaths(bundle)).at(-1)!;
      await rm(layer);
      const { symlink } = await import('node:fs/promises');
      await symlink('/etc/passwd', layer);
      const result = await cli(['load', '--store', root, '--json'], consumer);
      expect(result.status).toBe(5);
      expect(errorOf(result).code).toBe('PATH_UNSAFE');
      await expectTagUntouched();
    });
  });

  describe('the command line', () => {
    it('the built binary exits with the documented statuses', async () => {
      expect((await cliProcess(['--version'])).status).toBe(0);
      const unknown = await cliProcess(['export', '--no-such-flag']);
      expect(unknown.status).toBe(2);
      expect(unknown.stderr).toContain("handover export --help");
      const empty = await cliProcess(['export', ''], nowhere);
      expect(empty.status).toBe(2);
      expect(empty.stderr).toContain('[REF_EMPTY]');
    });

    it('load refuses stray positional arguments', async () => {
      const result = await cli(['load', 'docker-image', '--store', store], consumer);
      expect(result.status).toBe(2);
    });

    it('a failed load of a good bundle into a fresh tag leaves the tag absent', async () => {
      await removeImages(engines.c3, 'charon:local');
      const result = await cli(['load', '--store', store, '--expect', `sha256:${'1'.repeat(64)}`], { DOCKER_HOST: engines.c3 });
      expect(result.status).toBe(5);
      expect(await imageId(engines.c3, 'charon:local')).toBeUndefined();
      expect((await readdir(join(store, 'names')))).toContain('docker-image');
      await docker(engines.c3, 'image', 'ls');
    });
  });
}, onOneKind('refused before any engine work, or by handover\'s own verification: the same on every engine (an image the engine lacks: below, per kind; damaged bundles on every kind: faults/load-recovery.test.ts)'));

// Each engine answers a missing image its own way (Podman's compatible API words its 404 differently).
forEachEngineKind((_kind, engines) => {
  it('an image the engine lacks exits 3 with IMAGE_NOT_FOUND and names it', async () => {
    const result = await cli(['export', 'no-such-image:1', '--store', join(tmpdir(), 'handover-never-written'), '--json'], { DOCKER_HOST: engines.producer });
    expect(result.status, result.stdout).toBe(3);
    const error = json<{ error: { code: string; message: string } }>(result).error;
    expect(error.code).toBe('IMAGE_NOT_FOUND');
    expect(error.message).toContain("'no-such-image:1'");
  });
});
