import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import { artifactStoreLocation } from './github/artifact-location.ts';
import type { CrossRunSource, GitHubArtifactStoreOptions } from './github/github-artifact-store.ts';
import { LocalStore, defaultStorePath } from './local/local-store.ts';
import type { BundleListing, BundleSource, BundleWriter, Store } from './store.ts';

/** The value of a store option that asks for GitHub Actions artifacts explicitly. */
export const GITHUB_STORE_NAMES: readonly string[] = ['github', 'github-artifacts'];

export interface StoreSelection {
  /** The user's store choice: a directory path, 'github', or empty for the default. */
  store?: string | undefined;
  env: NodeJS.ProcessEnv;
  /** Relative store paths resolve against this. */
  cwd: string;
  /** For GitHub artifacts: how long an upload is kept, in days. */
  retentionDays?: number | undefined;
  /** For GitHub artifacts: read another run's artifacts. */
  from?: CrossRunSource | undefined;
}

/** True inside a GitHub Actions job step that can reach the artifact service. */
export function insideActionsRunner(env: NodeJS.ProcessEnv): boolean {
  return nonEmpty(env['ACTIONS_RUNTIME_TOKEN']) && nonEmpty(env['ACTIONS_RESULTS_URL']);
}

/**
 * Picks the store: an explicit directory path is a local store; 'github' is
 * GitHub Actions artifacts; with no choice, GitHub Actions artifacts inside a
 * runner (where jobs share nothing else) and the local default store elsewhere.
 */
export function selectStore(selection: StoreSelection): Store {
  const choice = (selection.store ?? '').trim();
  if (GITHUB_STORE_NAMES.includes(choice) || (choice === '' && insideActionsRunner(selection.env))) {
    return githubStore(selection);
  }
  if (choice !== '') return new LocalStore(resolve(selection.cwd, choice));
  return new LocalStore(defaultStorePath(selection.env));
}

function githubStore(selection: StoreSelection): Store {
  const env = selection.env;
  const runId = env['GITHUB_RUN_ID'];
  const repository = env['GITHUB_REPOSITORY'];
  return new DeferredGitHubStore({
    tempRoot: nonEmpty(env['RUNNER_TEMP']) ? env['RUNNER_TEMP'] : tmpdir(),
    retentionDays: selection.retentionDays,
    from: selection.from,
    runLabel: nonEmpty(runId) ? `run ${runId}${nonEmpty(repository) ? ` of ${repository}` : ''}` : 'this workflow run',
  });
}

/**
 * The GitHub artifacts store, loaded on first use: the artifact client and
 * the Azure SDK under it cost some 60 MiB of memory, which a process that
 * only works with a local store should not pay.
 */
class DeferredGitHubStore implements Store {
  readonly kind = 'github-artifacts';
  readonly location: string;
  private readonly options: GitHubArtifactStoreOptions;
  private loaded: Promise<Store> | undefined;

  constructor(options: GitHubArtifactStoreOptions) {
    this.options = options;
    this.location = artifactStoreLocation(options);
  }

  private async store(): Promise<Store> {
    this.loaded ??= import('./github/github-artifact-store.ts').then(({ GitHubArtifactStore }) => new GitHubArtifactStore(this.options));
    return await this.loaded;
  }

  async createBundle(name: string, options?: { signal?: AbortSignal }): Promise<BundleWriter> {
    return await (await this.store()).createBundle(name, options);
  }

  async openBundle(name: string, options?: { signal?: AbortSignal }): Promise<BundleSource> {
    return await (await this.store()).openBundle(name, options);
  }

  async list(): Promise<BundleListing[]> {
    return await (await this.store()).list();
  }
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== '';
}
