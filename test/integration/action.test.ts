import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startArtifactService, type ArtifactServiceHarness, type RunnerJob } from '../support/artifact-service/index.ts';
import { buildCharon, docker, imageId } from '../support/artifact-service/example-pipeline.ts';
import { runAction } from '../support/artifact-service/run-action.ts';
import { forEachEngineKind, namedEngines, onOneKind } from '../support/engine-matrix.ts';

// The actions run the CLI's flows (export, load) with the runner's inputs and outputs around them.
forEachEngineKind((_kind, kindEngines) => describe('export and load actions, run as a runner runs them', () => {
  const engines = namedEngines(kindEngines);
  const tag = 'charon-action:local';
  let harness: ArtifactServiceHarness;
  let producer: RunnerJob;
  let builtId: string;

  beforeAll(async () => {
    harness = await startArtifactService();
    producer = await harness.createJob('build-image');
    builtId = await buildCharon(engines.producer, 'charon-build:action', 'action-1');
    for (const host of [engines.c1, engines.c2, engines.c3]) await docker(host, 'image', 'rm', '-f', tag).catch(() => '');
  });
  afterAll(async () => {
    await harness?.stop();
  });

  let exported: Record<string, string> = {};

  it('export uploads the bundle as an artifact and reports it in outputs and the job summary', async () => {
    const result = await runAction('export', producer, { images: 'charon-build:action', tag }, { DOCKER_HOST: engines.producer });
    expect(result.error).toBeUndefined();
    expect(result.exitCode).toBe(0);
    exported = result.outputs;
    const [artifact] = harness.service.list();
    expect(exported).toEqual({
      'artifact-name': 'docker-image',
      'artifact-id': String(artifact!.id),
      'bundle-digest': expect.stringMatching(/^sha256:[0-9a-f]{64}$/) as string,
      'image-ids': expect.stringMatching(/^sha256:[0-9a-f]{64}$/) as string,
      bytes: expect.stringMatching(/^[1-9][0-9]*$/) as string,
      'run-integration': 'true',
    });
    expect(artifact).toMatchObject({ name: 'docker-image', finalized: true });
    const days = (artifact!.expiresAt!.getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(0.95);
    expect(days).toBeLessThanOrEqual(1.01);
    expect(result.summary).toContain(`Bundle digest: \`${exported['bundle-digest']}\``);
    expect(result.summary).toContain(`\`${tag}\``);
    expect(result.summary).toMatch(/\| \*\*total\*\* \|/);
    expect(result.stdout).toMatch(/^::group::Export charon-build:action as 'docker-image'/m);
    expect(result.stdout).toContain('::endgroup::');
    expect(builtId).toMatch(/^sha256:/);
  });

  it('load on another engine verifies the pinned bundle and the tag', async () => {
    const consumer = await harness.createJob('integration-cerberus');
    const result = await runAction('load', consumer, { expect: exported['bundle-digest']!, tags: tag }, { DOCKER_HOST: engines.c1 });
    expect(result.error).toBeUndefined();
    expect(result.exitCode).toBe(0);
    expect(result.outputs).toEqual({ 'bundle-digest': exported['bundle-digest'], 'image-ids': expect.any(String) as string, tags: tag });
    expect(await imageId(engines.c1, tag)).toBe(result.outputs['image-ids']);
    expect(result.summary).toContain('(matches `expect`)');
    expect(result.summary).toContain(`Verified on the engine: \`${tag}\``);
    expect(result.stdout).not.toContain('::warning::');
  });

  it('load from another workflow run finds the artifact through the REST API with run-id and a token', async () => {
    const otherRun = harness.createRun();
    const consumer = await otherRun.createJob('nightly-tests');
    const sameRun = await runAction('load', consumer, { expect: exported['bundle-digest']! }, { DOCKER_HOST: engines.c3 });
    expect(sameRun.exitCode).toBe(3);
    expect(sameRun.error).toContain(`No artifact named 'docker-image' in GitHub Actions artifacts of run ${otherRun.runId} of example/charon. It has no artifacts.`);

    const result = await runAction('load', consumer, { expect: exported['bundle-digest']!, tags: tag, 'run-id': harness.runId }, { DOCKER_HOST: engines.c3 });
    expect(result.error).toBeUndefined();
    expect(result.exitCode).toBe(0);
    expect(await imageId(engines.c3, tag)).toBe(result.outputs['image-ids']);
    expect(harness.service.recordedCalls().map((c) => c.method)).toEqual(
      expect.arrayContaining([`REST GET /repos/example/charon/actions/runs/${harness.runId}/artifacts`, expect.stringMatching(/^REST GET \/repos\/example\/charon\/actions\/artifacts\/\d+\/zip$/) as string]),
    );
  });

  it('load refuses a bundle other than the pinned one and leaves the tag absent', async () => {
    const consumer = await harness.createJob('integration-waf');
    const other = `sha256:${'0'.repeat(64)}`;
    const result = await runAction('load', consumer, { expect: other, tags: tag }, { DOCKER_HOST: engines.c2 });
    expect(result.exitCode).toBe(5);
    expect(result.error).toMatch(/^\[BUNDLE_DIGEST_MISMATCH\] /);
    expect(result.error).toContain(other);
    expect(result.outputs).toEqual({});
    expect(result.summary).toContain('### Image handover: load failed\n\n> [BUNDLE_DIGEST_MISMATCH]');
    expect(await imageId(engines.c2, tag)).toBeUndefined();
  });

  it('load says which artifact it looked for and which the run has', async () => {
    const consumer = await harness.createJob('integration-crowdsec');
    const result = await runAction('load', consumer, { name: 'docker-imge' }, { DOCKER_HOST: engines.c2 });
    expect(result.exitCode).toBe(3);
    expect(result.error).toContain(`[BUNDLE_NOT_FOUND] No artifact named 'docker-imge' in GitHub Actions artifacts of run ${harness.runId} of example/charon. It has: docker-image.`);
    expect(result.stdout).toContain('::warning::Loading whatever bundle is named');
  });

  it('load fails fast when a required tag is not in the bundle', async () => {
    const consumer = await harness.createJob('integration-ratelimit');
    const result = await runAction('load', consumer, { expect: exported['bundle-digest']!, tags: 'charon:other' }, { DOCKER_HOST: engines.c2 });
    expect(result.exitCode).toBe(5);
    expect(result.error).toMatch(/^\[VERIFY_FAILED\] Bundle 'docker-image' does not carry the tag charon:other/);
  });

  it('a re-run of the producer replaces the artifact; an empty image input fails before any work', async () => {
    const rerun = await runAction('export', producer, { images: 'charon-build:action', tag, 'retention-days': '3' }, { DOCKER_HOST: engines.producer });
    expect(rerun.exitCode).toBe(0);
    const artifacts = harness.service.list().filter((a) => a.name === 'docker-image');
    expect(artifacts).toHaveLength(1);
    expect(rerun.outputs['artifact-id']).toBe(String(artifacts[0]!.id));
    expect(rerun.outputs['artifact-id']).not.toBe(exported['artifact-id']);
    expect((artifacts[0]!.expiresAt!.getTime() - Date.now()) / 86_400_000).toBeGreaterThan(2.9);

    const empty = await runAction('export', producer, { images: '', tag }, { DOCKER_HOST: engines.producer });
    expect(empty.exitCode).toBe(2);
    expect(empty.error).toMatch(/^\[USAGE\] Expected at least one image to export, found none\./);
    expect(empty.outputs).toEqual({});
  });

  it('export takes an archive file (what docker save or buildx type=docker wrote)', async () => {
    const job = await harness.createJob('build-from-archive');
    const archive = join(job.dir, 'charon.tar');
    await docker(engines.producer, 'save', '-o', archive, 'charon-build:action');
    const result = await runAction('export', job, { archive, tag: 'charon-archive:local', name: 'from-archive' });
    expect(result.error).toBeUndefined();
    expect(result.outputs['run-integration']).toBe('true');
    expect(result.stdout).toContain(`::group::Export archive ${archive} as 'from-archive'`);

    const consumer = await harness.createJob('archive-consumer');
    const loaded = await runAction('load', consumer, { name: 'from-archive', expect: result.outputs['bundle-digest']!, tags: 'charon-archive:local' }, { DOCKER_HOST: engines.c2 });
    expect(loaded.error).toBeUndefined();
    expect(await imageId(engines.c2, 'charon-archive:local')).toBe(loaded.outputs['image-ids']);
  });

  it('store: a directory path hands over through a shared disk, with no artifact', async () => {
    const shared = await mkdtemp(join(tmpdir(), 'ho-shared-store-'));
    try {
      const job = await harness.createJob('self-hosted-build');
      const before = harness.service.list().length;
      const result = await runAction('export', job, { images: 'charon-build:action', tag: 'charon-shared:local', name: 'shared', store: shared }, { DOCKER_HOST: engines.producer });
      expect(result.error).toBeUndefined();
      expect(result.outputs).toMatchObject({ 'artifact-name': 'shared', 'artifact-id': '', 'run-integration': 'true' });
      expect(harness.service.list()).toHaveLength(before);
      expect(result.summary).toContain(`local store at \`${shared}\``);

      const consumer = await harness.createJob('self-hosted-test');
      const loaded = await runAction('load', consumer, { name: 'shared', expect: result.outputs['bundle-digest']!, tags: 'charon-shared:local', store: shared }, { DOCKER_HOST: engines.c2 });
      expect(loaded.error).toBeUndefined();
      expect(await imageId(engines.c2, 'charon-shared:local')).toBe(loaded.outputs['image-ids']);
    } finally {
      await rm(shared, { recursive: true, force: true });
    }
  });

  it('an artifact service refusal fails the export with its answer, and run-integration stays unset', async () => {
    const job = await harness.createJob('build-refused');
    harness.service.injectFailure('CreateArtifact', { status: 403, code: 'permission_denied', msg: 'the token cannot write artifacts' });
    const result = await runAction('export', job, { images: 'charon-build:action', tag, name: 'refused' }, { DOCKER_HOST: engines.producer });
    expect(result.exitCode).toBe(7);
    expect(result.error).toMatch(/^\[ARTIFACT_SERVICE\] The artifact service did not accept this job's token while creating artifact 'refused' \(403 permission_denied: the token cannot write artifacts\)/);
    expect(result.outputs).toEqual({});
    expect(harness.service.list().some((a) => a.name === 'refused')).toBe(false);
    expect(await readdir(job.env['RUNNER_TEMP']!)).toEqual([]);
  });
}), onOneKind('the actions around the CLI\'s flows; on every kind: charon-rehearsal.test.ts (the export action on the containerd store, the load action on all four kinds)'));
