import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startArtifactService, type ArtifactServiceHarness, type RunnerJob } from '../../support/artifact-service/index.ts';
import { runAction, startAction, type RunningAction } from '../../support/artifact-service/run-action.ts';
import { buildImage, docker, importImage } from '../../support/docker.ts';
import { entriesOf, waitFor } from '../../support/faults.ts';
import { forEachEngineKind, namedEngines, onOneKind } from '../../support/engine-matrix.ts';

/**
 * A cancelled job: GitHub sends the step SIGINT (then SIGTERM). The action
 * stops, removes the helper and partial images and its temporary files, and
 * fails the step saying it was interrupted, as the CLI does.
 */

forEachEngineKind((_kind, kindEngines) => {
  const engines = namedEngines(kindEngines);
  const HELPER_LABEL = 'label=io.github.image-handover.partial-of';

  let harness: ArtifactServiceHarness;
  const image = 'handover-faults/action-big:1';

  beforeAll(async () => {
    harness = await startArtifactService();
    const base = 'handover-faults/action-big-base:1';
    await importImage(engines.producer, base, [{ name: 'bottom.bin', size: 160 * 1024 * 1024, content: () => [randomBytes(160 * 1024 * 1024)] }]);
    await buildImage(engines.producer, image, `FROM ${base}\nCOPY top /top\n`, { top: 'top layer' });
  });

  afterAll(async () => {
    await harness?.stop();
  });

  async function helperImages(dockerHost: string): Promise<string> {
    return (await docker(dockerHost, 'images', '-aq', '--filter', HELPER_LABEL)).trim();
  }

  async function bytesRead(pid: number): Promise<number> {
    const io = await readFile(`/proc/${pid}/io`, 'utf8').catch(() => '');
    return Number(/^rchar: (\d+)$/m.exec(io)?.[1] ?? 0);
  }

  /** Signals a running step once it has read `bytes`; resolves with its result and how long it took to stop. */
  async function interruptAfter(running: RunningAction, bytes: number, signal: NodeJS.Signals): Promise<{ stopMs: number; result: Awaited<RunningAction['done']> }> {
    const pid = running.child.pid!;
    await waitFor(`${bytes} bytes read`, async () => (await bytesRead(pid)) >= bytes || running.child.exitCode !== null, 120_000, 5);
    expect(running.child.exitCode, 'the step ended before it could be interrupted').toBeNull();
    const sent = performance.now();
    running.child.kill(signal);
    const result = await running.done;
    return { stopMs: performance.now() - sent, result };
  }

  describe('a cancelled export step', () => {
    it.each([['SIGINT'], ['SIGTERM']] as const)('by %s while the head start streams: exits 130, says it was interrupted, leaves no helper image and no staging files', async (signal) => {
      const job: RunnerJob = await harness.createJob(`build-${signal}`);
      const running = await startAction('export', job, { images: image, tag: 'charon:local' }, { DOCKER_HOST: engines.producer, HANDOVER_HEAD_START_BYTES: '1' });
      const { stopMs, result } = await interruptAfter(running, 24 * 1024 * 1024, signal);
      expect(result.exitCode, result.stdout + result.stderr).toBe(130);
      expect(result.error).toMatch(/^\[INTERRUPTED\] Stopped: interrupted by SIG/);
      expect(result.summary).toContain('export failed');
      expect(stopMs).toBeLessThan(2000);
      expect(await helperImages(engines.producer)).toBe('');
      expect(await entriesOf(job.env['RUNNER_TEMP']!)).toEqual([]);
      expect(harness.service.list().filter((a) => a.runId === harness.runId && a.name === 'docker-image')).toEqual([]);
      expect(result.outputs).toEqual({});
    });

    it('reads HANDOVER_HEAD_START_BYTES as the CLI does (the action used to ignore it)', async () => {
      const job = await harness.createJob('build-settings');
      const bad = await runAction('export', job, { images: image }, { DOCKER_HOST: engines.producer, HANDOVER_HEAD_START_BYTES: 'lots' });
      expect(bad.exitCode).toBe(2);
      expect(bad.error).toMatch(/^\[USAGE\] Expected HANDOVER_HEAD_START_BYTES as a whole number of bytes/);
      const off = await runAction('export', job, { images: image, name: 'head-start-off' }, { DOCKER_HOST: engines.producer, HANDOVER_HEAD_START_BYTES: 'off' });
      expect(off.exitCode, off.stdout).toBe(0);
      expect(off.summary).not.toContain('head start');
      const on = await runAction('export', job, { images: image, name: 'head-start-on' }, { DOCKER_HOST: engines.producer, HANDOVER_HEAD_START_BYTES: '1' });
      expect(on.exitCode, on.stdout).toBe(0);
      expect(on.summary).toContain('| head start |');
      expect(on.outputs['bundle-digest']).not.toBe(off.outputs['bundle-digest']); // created times differ; the layers are the same
    });
  });

  describe('a cancelled load step', () => {
    it('by SIGINT mid-stream: exits 130, tags nothing, leaves no partial image and no downloaded copy', async () => {
      const producer = await harness.createJob('build-for-load');
      const exported = await runAction('export', producer, { images: image, tag: 'charon-cancelled:local', name: 'to-cancel' }, { DOCKER_HOST: engines.producer });
      expect(exported.exitCode, exported.stdout).toBe(0);
      await docker(engines.c1, 'image', 'rm', '-f', 'charon-cancelled:local').catch(() => '');
      const consumer = await harness.createJob('integration-cancelled');
      const running = await startAction('load', consumer, { name: 'to-cancel', expect: exported.outputs['bundle-digest']! }, { DOCKER_HOST: engines.c1, HANDOVER_LOAD_STEP_BYTES: '1' });
      // The artifact's download is read first (~160 MiB), then the layers stream into the engine.
      const { stopMs, result } = await interruptAfter(running, 200 * 1024 * 1024, 'SIGINT');
      expect(result.exitCode, result.stdout + result.stderr).toBe(130);
      expect(result.error).toMatch(/^\[INTERRUPTED\]/);
      expect(stopMs).toBeLessThan(2000);
      expect(await helperImages(engines.c1)).toBe('');
      expect((await docker(engines.c1, 'images', '-q', 'charon-cancelled:local')).trim()).toBe('');
      expect(await entriesOf(consumer.env['RUNNER_TEMP']!)).toEqual([]);
    });
  });
}, onOneKind('the actions run the CLI\'s flows and its interrupt path; interrupted loads on every kind: faults/load-recovery.test.ts; the actions on every kind: charon-rehearsal.test.ts'));
