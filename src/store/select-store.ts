import { resolve } from 'node:path';
import { GitHubArtifactStore, type ArtifactServiceAccess, type CrossRunSource } from './github/github-artifact-store.ts';
import { LocalStore } from './local/local-store.ts';
import type { Store } from './store.ts';

/** The value of a store option that asks for GitHub Actions artifacts explicitly. */
export const GITHUB_STORE_NAMES: readonly string[] = ['github', 'github-artifacts'];

/** Where the job runs, as far as the stores care. */
export interface RunnerContext {
  /** Inside a GitHub Actions job step that can reach the artifact service. */
  actions: boolean;
  /** ACTIONS_RESULTS_URL and ACTIONS_RUNTIME_TOKEN, when the runner gives them. */
  artifactService?: ArtifactServiceAccess | undefined;
  /** Where temporary files go: RUNNER_TEMP on a runner, else the system's. */
  tempDir: string;
  /** "run 1234 of owner/repo", for messages. */
  runLabel: string;
}

export interface StoreSelection {
  /** The user's store choice: a directory path, 'github', or empty for the default. */
  store?: string | undefined;
  /** The local store when none is chosen outside a runner. */
  defaultStore: string;
  runner: RunnerContext;
  /** Relative store paths resolve against this. */
  cwd: string;
  /** For GitHub artifacts: how long an upload is kept, in days. */
  retentionDays?: number | undefined;
  /** For GitHub artifacts: read another run's artifacts. */
  from?: CrossRunSource | undefined;
}

/**
 * Picks the store: an explicit directory path is a local store; 'github' is
 * GitHub Actions artifacts; with no choice, GitHub Actions artifacts inside a
 * runner (where jobs share nothing else) and the local default store elsewhere.
 */
export function selectStore(selection: StoreSelection): Store {
  const choice = (selection.store ?? '').trim();
  if (GITHUB_STORE_NAMES.includes(choice) || (choice === '' && selection.runner.actions)) {
    return new GitHubArtifactStore({
      tempRoot: selection.runner.tempDir,
      retentionDays: selection.retentionDays,
      from: selection.from,
      service: selection.runner.artifactService,
      runLabel: selection.runner.runLabel,
    });
  }
  return new LocalStore(choice === '' ? selection.defaultStore : resolve(selection.cwd, choice));
}
