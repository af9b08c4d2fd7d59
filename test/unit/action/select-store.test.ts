import { describe, expect, it } from 'vitest';
import { LocalStore } from '../../../src/store/local/local-store.ts';
import { insideActionsRunner, selectStore } from '../../../src/store/select-store.ts';

const runner = { ACTIONS_RUNTIME_TOKEN: 'jwt', ACTIONS_RESULTS_URL: 'https://results.example/', GITHUB_RUN_ID: '42', GITHUB_REPOSITORY: 'octo/charon', RUNNER_TEMP: '/runner/tmp' };

describe('store selection', () => {
  it('uses the run\'s artifacts inside a runner, and names the run', () => {
    expect(insideActionsRunner(runner)).toBe(true);
    const store = selectStore({ env: runner, cwd: '/w' });
    expect(store.kind).toBe('github-artifacts');
    expect(store.location).toBe('GitHub Actions artifacts of run 42 of octo/charon');
  });

  it('uses a local store for a directory given as store, even inside a runner', () => {
    const store = selectStore({ env: runner, cwd: '/w', store: 'shared/handover' });
    expect(store).toBeInstanceOf(LocalStore);
    expect(store.location).toBe('/w/shared/handover');
    expect(selectStore({ env: runner, cwd: '/w', store: '/mnt/handover' }).location).toBe('/mnt/handover');
  });

  it('outside a runner uses the local default store unless artifacts are asked for', () => {
    expect(insideActionsRunner({ ACTIONS_RUNTIME_TOKEN: 'jwt' })).toBe(false);
    expect(selectStore({ env: { HANDOVER_STORE: '/cache/h' }, cwd: '/w' }).location).toBe('/cache/h');
    expect(selectStore({ env: {}, cwd: '/w', store: 'github' }).kind).toBe('github-artifacts');
  });

  it('reads another run when told which', () => {
    const store = selectStore({ env: runner, cwd: '/w', from: { runId: 7, repository: 'octo/other', token: 't' } });
    expect(store.location).toBe('GitHub Actions artifacts of run 7 of octo/other');
  });
});
