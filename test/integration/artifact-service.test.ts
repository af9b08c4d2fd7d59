import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DefaultArtifactClient } from '@actions/artifact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startArtifactService, withJobEnv, type ArtifactServiceHarness, type RunnerJob } from '../support/artifact-service/index.ts';

const asJob = withJobEnv;

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

describe('local artifact service (Twirp + Azurite) with the real @actions/artifact client', () => {
  let harness: ArtifactServiceHarness;
  let producer: RunnerJob;
  let consumer: RunnerJob;
  const client = new DefaultArtifactClient();

  beforeAll(async () => {
    harness = await startArtifactService();
    producer = await harness.createJob('build-image');
    consumer = await harness.createJob('integration-cerberus');
  });
  afterAll(async () => {
    await harness?.stop();
  });

  it('uploads files from one job and another job of the run downloads the same bytes', async () => {
    const source = join(producer.dir, 'bundle');
    await mkdir(join(source, 'blobs', 'sha256'), { recursive: true });
    const big = randomBytes(9 * 1024 * 1024 + 17); // more than one 8 MiB upload block
    const small = Buffer.from('{"imageLayoutVersion":"1.0.0"}');
    await writeFile(join(source, 'blobs', 'sha256', sha256(big)), big);
    await writeFile(join(source, 'oci-layout'), small);

    const uploaded = await asJob(producer, () =>
      client.uploadArtifact('docker-image', [join(source, 'oci-layout'), join(source, 'blobs', 'sha256', sha256(big))], source, {
        compressionLevel: 0,
        retentionDays: 1,
      }),
    );
    expect(uploaded.id).toBeGreaterThan(0);
    expect(uploaded.size).toBeGreaterThan(big.length);

    const [stored] = harness.service.list();
    expect(stored).toMatchObject({ name: 'docker-image', finalized: true, jobId: producer.jobId, size: uploaded.size });
    const retentionMs = stored!.expiresAt!.getTime() - Date.now();
    expect(retentionMs).toBeGreaterThan(23 * 3600_000);
    expect(retentionMs).toBeLessThanOrEqual(24 * 3600_000 + 60_000);

    const { artifact } = await asJob(consumer, () => client.getArtifact('docker-image'));
    expect(artifact).toMatchObject({ name: 'docker-image', id: uploaded.id, size: uploaded.size });
    expect(artifact.digest).toBe(`sha256:${uploaded.digest}`);

    const target = join(consumer.dir, 'download');
    const downloaded = await asJob(consumer, () => client.downloadArtifact(artifact.id, { path: target, expectedHash: artifact.digest }));
    expect(downloaded.digestMismatch).toBe(false);
    expect(sha256(await readFile(join(target, 'blobs', 'sha256', sha256(big))))).toBe(sha256(big));
    expect(await readFile(join(target, 'oci-layout'), 'utf8')).toBe(small.toString());
    expect((await readdir(target)).sort()).toEqual(['blobs', 'oci-layout']);
  });

  it('refuses a second artifact of the same name in the run until the first is deleted', async () => {
    const file = join(producer.dir, 'again.txt');
    await writeFile(file, 'again');
    await expect(asJob(producer, () => client.uploadArtifact('docker-image', [file], producer.dir))).rejects.toThrow(/409|already exists/);

    const deleted = await asJob(producer, () => client.deleteArtifact('docker-image'));
    expect(deleted.id).toBeGreaterThan(0);
    const again = await asJob(producer, () => client.uploadArtifact('docker-image', [file], producer.dir, { compressionLevel: 0 }));
    expect(again.id).toBeGreaterThan(deleted.id);
    const { artifacts } = await asJob(consumer, () => client.listArtifacts());
    expect(artifacts.map((a) => [a.name, a.id])).toEqual([['docker-image', again.id]]);
  });

  it('says which artifact is missing, and refuses a token it did not issue', async () => {
    await expect(asJob(consumer, () => client.getArtifact('no-such-artifact'))).rejects.toThrow(/not found/i);
    const forged = { ...consumer, env: { ...consumer.env, ACTIONS_RUNTIME_TOKEN: `${consumer.env['ACTIONS_RUNTIME_TOKEN']}x` } };
    await expect(asJob(forged, () => client.listArtifacts())).rejects.toThrow(/401/);
  });
});
