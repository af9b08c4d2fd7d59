import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Defaults } from '../../../src/defaults.ts';

const root = new URL('../../../', import.meta.url);

describe('committed action bundles', () => {
  it('match a fresh build (run npm run build:actions and commit export/dist and load/dist)', async () => {
    const check = promisify(execFile)(process.execPath, ['scripts/build-actions.mjs', '--check'], { cwd: root });
    await expect(check).resolves.toBeDefined();
  }, 120_000);

  it.each(['export', 'load'])('%s/action.yml runs its bundle on node24', async (action) => {
    const metadata = parse(await readFile(new URL(`${action}/action.yml`, root), 'utf8')) as { runs: Record<string, string> };
    expect(metadata.runs).toEqual({ using: 'node24', main: 'dist/index.cjs' });
  });

  it('declares every input the action reads, with the documented defaults', async () => {
    const exportYml = parse(await readFile(new URL('export/action.yml', root), 'utf8')) as { inputs: Record<string, { default?: string }>; outputs: Record<string, unknown> };
    expect(Object.keys(exportYml.inputs)).toEqual(['images', 'archive', 'tag', 'name', 'retention-days', 'compression', 'store']);
    expect(exportYml.inputs['name']?.default).toBe(Defaults.bundleName);
    expect(exportYml.inputs['retention-days']?.default).toBe(String(Defaults.retentionDays));
    expect(exportYml.inputs['compression']?.default).toBe(''); // as built; plain layers get Defaults.compression
    expect(Object.keys(exportYml.outputs)).toEqual(['artifact-name', 'artifact-id', 'bundle-digest', 'image-ids', 'bytes', 'run-integration']);
    const loadYml = parse(await readFile(new URL('load/action.yml', root), 'utf8')) as { inputs: Record<string, { default?: string }>; outputs: Record<string, unknown> };
    expect(Object.keys(loadYml.inputs)).toEqual(['name', 'expect', 'tags', 'store', 'run-id', 'repository', 'github-token']);
    expect(loadYml.inputs['name']?.default).toBe(Defaults.bundleName);
    expect(Object.keys(loadYml.outputs)).toEqual(['bundle-digest', 'image-ids', 'tags']);
  });
});
