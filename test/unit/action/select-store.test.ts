import { describe, expect, it } from 'vitest';
import { readSettings } from '../../../src/entry/settings.ts';
import { LocalStore } from '../../../src/store/local/local-store.ts';
import { selectStore } from '../../../src/store/select-store.ts';

const runnerEnv = { ACTIONS_RUNTIME_TOKEN: 'jwt', ACTIONS_RESULTS_URL: 'https://results.example/', GITHUB_RUN_ID: '42', GITHUB_REPOSITORY: 'octo/charon', RUNNER_TEMP: '/runner/tmp' };

function selection(env: NodeJS.ProcessEnv, store?: string): Parameters<typeof selectStore>[0] {
  const settings = readSettings(env);
  return { store, defaultStore: settings.defaultStore, runner: settings.runner, cwd: '/w' };
}

describe('store selection', () => {
  it("uses the run's artifacts inside a runner, and names the run", () => {
    const settings = readSettings(runnerEnv);
    expect(settings.runner).toEqual({
      actions: true,
      artifactService: { token: 'jwt', resultsUrl: 'https://results.example/' },
      tempDir: '/runner/tmp',
      runLabel: 'run 42 of octo/charon',
    });
    const store = selectStore(selection(runnerEnv));
    expect(store.kind).toBe('github-artifacts');
    expect(store.location).toBe('GitHub Actions artifacts of run 42 of octo/charon');
  });

  it('uses a local store for a directory given as store, even inside a runner', () => {
    const store = selectStore(selection(runnerEnv, 'shared/handover'));
    expect(store).toBeInstanceOf(LocalStore);
    expect(store.location).toBe('/w/shared/handover');
    expect(selectStore(selection(runnerEnv, '/mnt/handover')).location).toBe('/mnt/handover');
  });

  it('outside a runner uses the local default store unless artifacts are asked for', () => {
    expect(readSettings({ ACTIONS_RUNTIME_TOKEN: 'jwt' }).runner.actions).toBe(false);
    expect(selectStore(selection({ HANDOVER_STORE: '/cache/h' })).location).toBe('/cache/h');
    expect(selectStore(selection({}, 'github')).kind).toBe('github-artifacts');
  });

  it('reads another run when told which', () => {
    const store = selectStore({ ...selection(runnerEnv), from: { runId: 7, repository: 'octo/other', token: 't' } });
    expect(store.location).toBe('GitHub Actions artifacts of run 7 of octo/other');
  });
});
