import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, cliProcess } from '../../support/cli.ts';
import { forEachEngineKind, namedEngines, onOneKind } from '../../support/engine-matrix.ts';
import { entriesOf, errorOf, mountTmpfs } from '../../support/faults.ts';
import { sharedTestImages, type TestImages } from '../../support/images.ts';

/**
 * Bad input from users beyond what bad-input.test.ts covers: ambiguous
 * references and options, unknown flags, paths that cannot be read as an
 * archive, a store path that is a file. Each gets its own code and a hint.
 */

const exec = promisify(execFile);
forEachEngineKind((_kind, kindEngines) => {
  const engines = namedEngines(kindEngines);
  const producer = { DOCKER_HOST: engines.producer };
  const nowhere = { DOCKER_HOST: 'unix:///tmp/handover-no-engine-here.sock' };

  let images: TestImages;
  let work: string;
  let store: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'handover-user-input-'));
    store = join(work, 'store');
    images = await sharedTestImages(engines.producer);
  });

  afterAll(async () => {
    await rm(work, { recursive: true, force: true });
  });

  async function fails(args: string[], env: NodeJS.ProcessEnv, code: string, status: number): Promise<{ message: string; hint?: string }> {
    const result = await cli([...args, '--json'], env);
    const error = errorOf(result);
    expect(error.code, result.stdout).toBe(code);
    expect(result.status).toBe(status);
    return error;
  }

  describe('ambiguous references and options', () => {
    it('images from the engine and --archive at once exit 2 with USAGE', async () => {
      await fails(['export', images.app, '--archive', join(work, 'x.tar'), '--store', store], nowhere, 'USAGE', 2);
    });

    it('--tag with several sources (which one gets it?) exits 2 with USAGE', async () => {
      const error = await fails(['export', images.app, images.worker, '--tag', 'charon:local', '--store', store], nowhere, 'USAGE', 2);
      expect(error.message).toContain('2 sources');
    });

    it('--tag with a digest (a tag cannot pin content) exits 2 with REF_INVALID', async () => {
      await fails(['export', images.app, '--tag', `charon@sha256:${'a'.repeat(64)}`, '--store', store], nowhere, 'REF_INVALID', 2);
    });

    it('a hex string that could be an image id or a name is taken as an id, and the message names it', async () => {
      const error = await fails(['export', 'deadbeefcafe', '--store', store], producer, 'IMAGE_NOT_FOUND', 3);
      expect(error.message).toContain("'deadbeefcafe'");
    });

    it('a tag without :tag is read as :latest, and a refusal says so', async () => {
      expect((await cli(['export', images.app, '--tag', 'charon:local', '--name', 'tagged', '--store', store], producer)).status).toBe(0);
      const error = await fails(['load', '--name', 'tagged', '--store', store, '--require-tag', 'charon'], { DOCKER_HOST: engines.c1 }, 'VERIFY_FAILED', 5);
      expect(error.message).toContain('charon:latest');
      expect(error.message).toContain('charon:local');
    });
  });

  describe('unknown flags and values', () => {
    it.each([
      [['load', '--expect-digest', 'sha256:0']],
      [['export', 'handover-test/app:1', '--compress', 'zstd']],
      [['inspect', '--verify-all']],
      [['ls', '-x']],
    ])('%j exits 2 with USAGE and points at --help', async (args) => {
      const result = await cli(args, nowhere);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('[USAGE]');
      expect(result.stderr).toMatch(/handover \w+ --help/);
    });

    it('an unknown --compression value exits 2 and lists the known ones', async () => {
      const error = await fails(['export', images.app, '--compression', 'lz4', '--store', store], nowhere, 'USAGE', 2);
      expect(error.message).toContain('zstd, gzip, none');
    });

    it('an unknown command exits 2 from the built binary too', async () => {
      const result = await cliProcess(['exprot', images.app]);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('Unknown command');
    });
  });

  describe('paths that cannot be read', () => {
    it('an --archive that is a directory exits 3 with FILE_NOT_FOUND', async () => {
      const dir = join(work, 'archive-dir');
      await mkdir(dir, { recursive: true });
      const error = await fails(['export', '--archive', dir, '--store', store], nowhere, 'FILE_NOT_FOUND', 3);
      expect(error.message).toContain('is a directory');
    });

    it('an --archive FIFO fed garbage exits 5 with ARCHIVE_MALFORMED, publishing nothing', async () => {
      const fifo = join(work, 'garbage.fifo');
      await exec('mkfifo', [fifo]);
      const writer = (async () => {
        const handle = await open(fifo, 'w');
        await handle.write(Buffer.alloc(4096, 0x41));
        await handle.close();
      })();
      const fifoStore = join(work, 'fifo-store');
      await fails(['export', '--archive', fifo, '--name', 'from-fifo', '--store', fifoStore], nowhere, 'ARCHIVE_MALFORMED', 5);
      await writer;
      expect(await entriesOf(join(fifoStore, 'names'))).toEqual([]);
      expect(await entriesOf(join(fifoStore, 'tmp'))).toEqual([]);
    });

    it('an --archive FIFO fed by docker save streams (a pipe is a readable path)', async () => {
      const fifo = join(work, 'save.fifo');
      await exec('mkfifo', [fifo]);
      const save = spawn('sh', ['-c', `exec docker -H "$1" save "$2" > "$3"`, 'sh', engines.producer, images.app, fifo], { stdio: 'ignore' });
      const saved = new Promise((resolve) => save.once('close', resolve));
      const result = await cli(['export', '--archive', fifo, '--tag', 'charon:local', '--name', 'from-fifo', '--store', store, '--json'], nowhere);
      expect(result.status, result.stdout).toBe(0);
      expect(await saved).toBe(0);
    });

    it('a store path that is a file exits 3 with STORE_NOT_FOUND for export too, as does a path under a file', async () => {
      const file = join(work, 'a-file');
      await writeFile(file, 'x');
      for (const path of [file, join(file, 'store')]) {
        const error = await fails(['export', images.app, '--store', path], producer, 'STORE_NOT_FOUND', 3);
        expect(error.message).toContain('is a file, not a directory');
      }
    });

    it('a store on a read-only file system exits 7 with STORE_IO and says so', async () => {
      const readOnly = await mountTmpfs('1m', ['ro']);
      try {
        const path = join(readOnly.dir, 'store');
        const error = await fails(['export', images.app, '--store', path], producer, 'STORE_IO', 7);
        expect(error.message).toContain(path);
      } finally {
        await readOnly.unmount();
      }
    });
  });
}, onOneKind('checks of arguments and paths, made before any engine work: the same on every engine'));
