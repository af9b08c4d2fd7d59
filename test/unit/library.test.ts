import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as handover from '../../src/index.ts';

describe('the library entry', () => {
  it('exposes the flows, the engine, the stores and typed errors', () => {
    for (const name of ['exportImages', 'loadBundle', 'inspectBundle', 'DockerEngine', 'LocalStore', 'selectStore', 'checkWorkflows', 'migrateWorkflow'] as const) {
      expect(typeof handover[name], name).toBe('function');
    }
    expect(handover.parseDockerHost(undefined).url).toBe(handover.Defaults.dockerHost);
  });

  it('refuses an empty reference with the typed error a caller can branch on', async () => {
    const store = await mkdtemp(join(tmpdir(), 'handover-lib-'));
    try {
      const engine = new handover.DockerEngine(handover.parseDockerHost(undefined));
      const attempt = handover.exportImages({ store: new handover.LocalStore(store), source: { engine, references: [''] } });
      await expect(attempt).rejects.toBeInstanceOf(handover.EmptyReferenceError);
      await expect(attempt).rejects.toMatchObject({ code: 'REF_EMPTY', exitStatus: handover.ExitStatus.usage });
    } finally {
      await rm(store, { recursive: true, force: true });
    }
  });
});
