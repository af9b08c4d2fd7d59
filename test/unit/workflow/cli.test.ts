import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.ts';
import { fixture } from './fixtures.ts';

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

let cwd: string;

async function handover(...argv: string[]): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const status = await main(argv, { stdout, stderr, env: {}, cwd, signal: new AbortController().signal });
  return { status, stdout: out, stderr: err };
}

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'handover-workflow-'));
  await mkdir(join(cwd, '.github/workflows'), { recursive: true });
});

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
});

describe('handover check', () => {
  it('exits 0 on a clean pipeline (default directory)', async () => {
    await writeFile(join(cwd, '.github/workflows/ci.yml'), fixture('pipeline/after-steps.yml'));
    const run = await handover('check');
    expect(run).toMatchObject({ status: 0, stdout: '' });
    expect(run.stderr).toBe('No handover problems in 1 workflow file.\n');
  });

  it('exits 1 with findings, as path:line:col: message [rule]', async () => {
    await writeFile(join(cwd, '.github/workflows/ci.yml'), fixture('pipeline/before.yml'));
    const run = await handover('check', '.github/workflows/ci.yml');
    expect(run.status).toBe(1);
    expect(run.stdout.split('\n')[0]).toMatch(/^\.github\/workflows\/ci\.yml:40:24: .* \[push-policy-gate\]$/);
    expect(run.stderr).toBe('17 findings in 1 workflow file.\n');
  });

  it('writes json and sarif', async () => {
    await writeFile(join(cwd, 'ci.yml'), fixture('rules/consumer-needs.yml'));
    const json = await handover('check', 'ci.yml', '--format', 'json');
    expect(json.status).toBe(1);
    expect((JSON.parse(json.stdout) as { findings: unknown[] }).findings).toHaveLength(3);
    const sarif = await handover('check', 'ci.yml', '--format=sarif');
    expect(sarif.status).toBe(1);
    expect((JSON.parse(sarif.stdout) as { version: string }).version).toBe('2.1.0');
  });

  it('exits 2 on a usage error', async () => {
    expect((await handover('check', '--format', 'xml')).status).toBe(2);
    expect((await handover('check', 'missing.yml')).status).toBe(2);
    expect((await handover('check', '--bogus')).status).toBe(2);
  });

  it('exits 2 on a file that is not YAML, naming where', async () => {
    await writeFile(join(cwd, 'bad.yml'), 'jobs:\n  a: [unclosed\n');
    const run = await handover('check', 'bad.yml');
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/error \[WORKFLOW_PARSE\]: bad\.yml:\d+:\d+: not valid YAML/);
  });

  it('exits 2 on YAML that is not a workflow', async () => {
    await writeFile(join(cwd, 'list.yml'), '- a\n- b\n');
    expect((await handover('check', 'list.yml')).status).toBe(2);
  });
});

describe('handover migrate', () => {
  it('prints a unified diff and leaves the file alone without --write', async () => {
    await writeFile(join(cwd, 'ci.yml'), fixture('pipeline/before.yml'));
    const run = await handover('migrate', 'ci.yml');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^--- a\/ci\.yml\n\+\+\+ b\/ci\.yml\n@@ -38,6 \+38,8 @@\n/);
    expect(run.stdout).toContain('-      - name: Log in to Docker Hub\n');
    expect(await readFile(join(cwd, 'ci.yml'), 'utf8')).toBe(fixture('pipeline/before.yml'));
  });

  it('writes the golden result with --write, and a second run has nothing to do', async () => {
    await writeFile(join(cwd, 'ci.yml'), fixture('pipeline/before.yml'));
    expect((await handover('migrate', 'ci.yml', '--write', '--style', 'steps')).status).toBe(0);
    expect(await readFile(join(cwd, 'ci.yml'), 'utf8')).toBe(fixture('pipeline/after-steps.yml'));
    const again = await handover('migrate', 'ci.yml', '--style', 'steps');
    expect(again).toMatchObject({ status: 0, stdout: '' });
    expect(again.stderr).toMatch(/nothing to migrate/);
    expect((await handover('check', 'ci.yml')).status).toBe(0);
  });

  it('says on stderr what it did, what it left and what to pin', async () => {
    await writeFile(join(cwd, 'ci.yml'), fixture('corpus/sha-pinned.yml'));
    const run = await handover('migrate', 'ci.yml');
    expect(run.status).toBe(0);
    expect(run.stderr).toContain('  integration: loads ledger:test from \'build\' instead of logging in and pulling.\n');
    expect(run.stderr).toMatch(/You must pin image-handover\/image-handover\/load@v1 to a commit SHA/);
    const named = await handover('migrate', 'ci.yml', '--artifact', 'ledger-image');
    expect(named.stdout).toContain('+          name: ledger-image\n');
    expect((await handover('migrate', 'ci.yml', '--artifact', '../x')).status).toBe(2);
    await writeFile(join(cwd, 'bake.yml'), fixture('corpus/bake-push.yml'));
    const left = await handover('migrate', 'bake.yml');
    expect(left).toMatchObject({ status: 0, stdout: '' });
    expect(left.stderr).toMatch(/nothing to migrate[\s\S]*images: left as it is — it builds with bake/);
  });

  it('exits 2 on a usage error', async () => {
    expect((await handover('migrate')).status).toBe(2);
    expect((await handover('migrate', 'missing.yml')).status).toBe(2);
    await writeFile(join(cwd, 'ci.yml'), fixture('pipeline/before.yml'));
    expect((await handover('migrate', 'ci.yml', '--style', 'docker')).status).toBe(2);
  });
});
