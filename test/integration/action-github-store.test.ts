import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIndex, buildManifest } from '../../src/bundle/build.ts';
import { MediaType } from '../../src/bundle/media-types.ts';
import { sha256Digest } from '../../src/digest/digest.ts';
import { ArtifactServiceError, BundleNotFoundError } from '../../src/errors.ts';
import { GitHubArtifactStore } from '../../src/store/github/github-artifact-store.ts';
import type { Store } from '../../src/store/store.ts';
import { startArtifactService, withJobEnv, type ArtifactServiceHarness, type RunnerJob } from '../support/artifact-service/index.ts';
import { collect } from '../unit/core/support.ts';

/** Writes a one-image bundle with a random layer through the store's writer. */
async function writeBundle(store: Store, name: string, tag: string, layer = randomBytes(3 * 1024 * 1024)): Promise<{ digest: string; layer: Buffer; stored: Record<string, unknown> }> {
  const writer = await store.createBundle(name);
  const layerBlob = await writer.writeBlob(Readable.from([layer]));
  const config = await writer.putBlob(Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } })));
  const manifestBytes = buildManifest({
    config: { digest: config.digest, size: config.size },
    layers: [{ mediaType: MediaType.ociLayerZstd, digest: layerBlob.digest, size: layerBlob.size }],
  });
  const manifest = await writer.putBlob(manifestBytes);
  const index = buildIndex(
    [{ manifest: { digest: manifest.digest, size: manifest.size }, tags: [tag], qualifiedNames: [`docker.io/library/${tag}`], imageId: config.digest, sourceId: undefined, sourceRef: undefined, platform: undefined }],
    { created: new Date(), producer: {} },
  );
  const published = await writer.publish(index);
  expect(published.digest).toBe(sha256Digest(index));
  return { digest: published.digest, layer, stored: published.details };
}

describe('GitHubArtifactStore on the local artifact service', () => {
  let harness: ArtifactServiceHarness;
  let producer: RunnerJob;
  let consumer: RunnerJob;

  beforeAll(async () => {
    harness = await startArtifactService();
    producer = await harness.createJob('build-image');
    consumer = await harness.createJob('integration-waf');
  });
  afterAll(async () => {
    await harness?.stop();
  });

  const storeFor = (job: RunnerJob, retentionDays?: number): GitHubArtifactStore =>
    new GitHubArtifactStore({
      tempRoot: job.env['RUNNER_TEMP'],
      retentionDays,
      runLabel: `run ${harness.runId}`,
      service: { resultsUrl: job.env['ACTIONS_RESULTS_URL']!, token: job.env['ACTIONS_RUNTIME_TOKEN']! },
    });

  it('publishes a bundle as an artifact that another job reads back blob by blob', async () => {
    const written = await withJobEnv(producer, () => writeBundle(storeFor(producer, 1), 'docker-image', 'charon:local'));
    expect(written.stored).toMatchObject({ artifactName: 'docker-image', artifactId: expect.any(Number) as number });
    expect(await readdir(producer.env['RUNNER_TEMP']!)).toEqual([]); // staging removed

    const source = await withJobEnv(consumer, () => storeFor(consumer).openBundle('docker-image'));
    try {
      expect(sha256Digest(await source.readIndex())).toBe(written.digest);
      const layer = await collect(await source.openBlob(sha256Digest(written.layer)));
      expect(layer.equals(written.layer)).toBe(true);
    } finally {
      await source.close();
    }
    expect(await readdir(consumer.env['RUNNER_TEMP']!)).toEqual([]); // read by ranges: nothing on disk
    const [artifact] = harness.service.list();
    expect(artifact!.expiresAt!.getTime() - Date.now()).toBeGreaterThan(23 * 3600_000);
  });

  it('replaces an artifact of the same name when the producer runs again', async () => {
    const again = await withJobEnv(producer, () => writeBundle(storeFor(producer), 'docker-image', 'charon:local'));
    const artifacts = harness.service.list().filter((a) => a.name === 'docker-image');
    expect(artifacts).toHaveLength(1);
    const source = await withJobEnv(consumer, () => storeFor(consumer).openBundle('docker-image'));
    expect(sha256Digest(await source.readIndex())).toBe(again.digest);
    await source.close();
    const listed = await withJobEnv(consumer, () => storeFor(consumer).list());
    expect(listed.map((l) => l.name)).toEqual(['docker-image']);
  });

  it('stores the bundle as one single-file archive (a tar, artifact version 7), its blobs as they were written', async () => {
    const zeros = Buffer.alloc(4 * 1024 * 1024);
    const written = await withJobEnv(producer, () => writeBundle(storeFor(producer), 'single-file', 'charon:zeros', zeros));
    const artifact = harness.service.list().find((a) => a.name === 'single-file')!;
    expect(artifact).toMatchObject({ mimeType: 'application/x-tar', version: 7, finalized: true });
    expect(artifact.size).toBeGreaterThan(zeros.length);
    expect(written.stored['artifactSize']).toBe(artifact.size);
    expect(written.stored['artifactDigest']).toBe(artifact.digest);
  });

  it('says which name it looked for and which names the run has', async () => {
    const error = await withJobEnv(consumer, () => storeFor(consumer).openBundle('docker-imag')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundleNotFoundError);
    expect((error as Error).message).toBe(`No artifact named 'docker-imag' in GitHub Actions artifacts of run ${harness.runId}. It has: docker-image, single-file.`);
  });

  it('maps a service refusal to ArtifactServiceError', async () => {
    harness.service.injectFailure('CreateArtifact', { status: 403, code: 'permission_denied', msg: 'token lacks actions:write' });
    const error = await withJobEnv(producer, () => writeBundle(storeFor(producer), 'other', 'charon:other')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactServiceError);
    expect((error as Error).message).toMatch(/while creating artifact 'other'.*403.*token lacks actions:write/);
  });

  it('outside a runner, explains that artifacts need a job', async () => {
    const store = new GitHubArtifactStore({ tempRoot: producer.env['RUNNER_TEMP'] });
    const error = await store.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArtifactServiceError);
    expect((error as ArtifactServiceError).hint).toMatch(/store: or --store/);
  });
});
