import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../../src/cli/main.ts';
import { sha256Digest } from '../../../../src/digest/digest.ts';
import { Capture, pattern, tarOf, tempDirs } from '../support.ts';

const temp = tempDirs('cli-archive');
afterEach(temp.cleanup);
let dir: string;

beforeEach(async () => {
  dir = await temp.make();
});

async function handover(...argv: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const env = { DOCKER_HOST: `unix://${join(dir, 'no-engine.sock')}` };
  const status = await main(argv, { stdout, stderr, env, cwd: dir, signal: new AbortController().signal });
  return { status, stdout: stdout.text, stderr: stderr.text };
}

describe('export --archive, then ls and inspect, without an engine', () => {
  it('exports a docker save archive and inspects the verified bundle', async () => {
    const layer = await tarOf([{ name: 'bin/app', data: pattern(50_000) }]);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256Digest(layer)] } }));
    await writeFile(join(dir, 'image.tar'), await tarOf([
      { name: 'l/layer.tar', data: layer },
      { name: 'config.json', data: config },
      { name: 'manifest.json', data: Buffer.from(JSON.stringify([{ Config: 'config.json', RepoTags: ['charon-build:1'], Layers: ['l/layer.tar'] }])) },
    ]));
    const exported = await handover('export', '--archive', 'image.tar', '--tag', 'charon:local', '--store', 'store', '--json');
    expect(exported.stderr).toBe('');
    expect(exported.status).toBe(0);
    const result = JSON.parse(exported.stdout) as { ok: boolean; bundleDigest: string; images: Array<{ tags: string[]; imageId: string }> };
    expect(result.ok).toBe(true);
    expect(result.images).toMatchObject([{ tags: ['charon:local'], imageId: sha256Digest(config) }]);

    const listed = await handover('ls', '--store', 'store');
    expect(listed.stdout).toMatch(new RegExp(`docker-image\\s+${result.bundleDigest}`));

    const inspected = await handover('inspect', '--store', 'store', '--verify', '--expect', result.bundleDigest);
    expect(inspected.status).toBe(0);
    expect(inspected.stdout).toContain('image charon:local');
    expect(inspected.stdout).toContain('Every blob was read and matches its digest.');

    const wrong = await handover('inspect', '--store', 'store', '--expect', sha256Digest('other'));
    expect(wrong.status).toBe(5);
    expect(wrong.stderr).toContain('[BUNDLE_DIGEST_MISMATCH]');
  });
});
