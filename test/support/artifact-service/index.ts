import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAzuriteBlob } from './azurite.ts';
import { BlobLink, type LinkRates } from './blob-link.ts';
import { mintRuntimeToken } from './runtime-token.ts';
import { ArtifactTwirpService } from './twirp-server.ts';

export type { StoredArtifact, RecordedCall, InjectedFailure } from './twirp-server.ts';
export { QUOTA_EXCEEDED } from './twirp-server.ts';
export { BENCH_LINK, type BlobFault, type LinkRates, type RequestMatch } from './blob-link.ts';

/** One job of the simulated workflow run: its own backend id, token and runner files. */
export interface RunnerJob {
  readonly name: string;
  readonly jobId: string;
  /** The job's directory: workspace/, temp/, output, summary.md. */
  readonly dir: string;
  /** The environment a runner gives a step of this job (merge INPUT_* over it). */
  readonly env: Record<string, string>;
  /** The job's network to blob storage: its own link with `linkPerJob`, else the shared one. */
  readonly link: BlobLink;
  /** The job's github.token (accepted by the local REST API with actions:read). */
  readonly githubToken: string;
  /** GITHUB_OUTPUT and GITHUB_STEP_SUMMARY. */
  readonly outputFile: string;
  readonly summaryFile: string;
  /** The step outputs written to GITHUB_OUTPUT so far. */
  outputs(): Promise<Record<string, string>>;
  /** The job summary written to GITHUB_STEP_SUMMARY so far. */
  summary(): Promise<string>;
}

/** A workflow run: its ids and a way to start its jobs. */
export interface WorkflowRun {
  /** GITHUB_RUN_ID */
  readonly runId: string;
  readonly runBackendId: string;
  createJob(name: string): Promise<RunnerJob>;
}

export interface ArtifactServiceHarness {
  /** ACTIONS_RESULTS_URL */
  readonly resultsUrl: string;
  /** The Azurite blob endpoint the signed URLs point at. */
  readonly blobEndpoint: string;
  /** The workflow run's backend id (shared by every job of the run). */
  readonly runBackendId: string;
  /** GITHUB_RUN_ID */
  readonly runId: string;
  /** A token the REST API accepts for reading artifacts of any run (github-token). */
  readonly apiToken: string;
  readonly service: ArtifactTwirpService;
  /** The network between runners and blob storage: bandwidth limits and faults (see blob-link.ts). */
  readonly link: BlobLink;
  /** Another workflow run of the same repository (for cross-run reads). */
  createRun(): WorkflowRun;
  /** A new job in this run, with its own job backend id and runner files under a fresh directory. */
  createJob(name: string): Promise<RunnerJob>;
  /** Stops the service and Azurite and removes every job directory. */
  stop(): Promise<void>;
}

/**
 * Starts a local artifact service as a hosted runner sees it: Azurite for the
 * blobs and a Twirp ArtifactService in front, both on free loopback ports.
 * Signed URLs point at a link in front of Azurite (unlimited unless `link`
 * gives rates), through which tests inject network and storage faults.
 */
export async function startArtifactService(options: { repository?: string; link?: LinkRates; linkPerJob?: boolean } = {}): Promise<ArtifactServiceHarness> {
  const azurite = await startAzuriteBlob();
  const secret = randomBytes(32);
  const link = new BlobLink(new URL(azurite.endpoint).origin, options.link);
  let resultsUrl: string;
  let service: ArtifactTwirpService;
  try {
    const publicBlobOrigin = await link.listen();
    service = new ArtifactTwirpService(azurite.endpoint, secret, { publicBlobOrigin });
    resultsUrl = await service.listen();
  } catch (error) {
    await link.close();
    await azurite.stop();
    throw error;
  }
  const root = await mkdtemp(join(tmpdir(), 'ho-runner-'));
  // With linkPerJob each job has a link of its own at the same rates, as runners each have their own network.
  const jobLinks: BlobLink[] = [];
  const repository = options.repository ?? 'example/charon';
  const apiUrl = resultsUrl.replace(/\/$/, '');

  const createRun = (): WorkflowRun => {
    const runBackendId = randomUUID();
    const runId = String(1_000_000 + Math.floor(Math.random() * 1_000_000));
    service.registerRun(runId, runBackendId);
    const createJob = async (name: string): Promise<RunnerJob> => {
      const jobId = randomUUID();
      let jobLink = link;
      if (options.linkPerJob === true) {
        jobLink = new BlobLink(new URL(azurite.endpoint).origin, options.link);
        jobLinks.push(jobLink);
        service.setJobOrigin(jobId, await jobLink.listen());
      }
      const dir = join(root, `${name}-${jobId.slice(0, 8)}`);
      const workspace = join(dir, 'workspace');
      const temp = join(dir, 'temp');
      await mkdir(workspace, { recursive: true });
      await mkdir(temp, { recursive: true });
      const files = { output: join(dir, 'output'), summary: join(dir, 'summary.md'), env: join(dir, 'env'), state: join(dir, 'state'), path: join(dir, 'path') };
      await Promise.all(Object.values(files).map((file) => writeFile(file, '')));
      const env: Record<string, string> = {
        CI: 'true',
        GITHUB_ACTIONS: 'true',
        ACTIONS_RUNTIME_TOKEN: mintRuntimeToken({ runId: runBackendId, jobId }, secret),
        ACTIONS_RESULTS_URL: resultsUrl,
        GITHUB_SERVER_URL: 'https://github.com',
        // The REST API (other runs' artifacts) is served by the same local service.
        GITHUB_API_URL: apiUrl,
        GITHUB_REPOSITORY: repository,
        GITHUB_REPOSITORY_OWNER: repository.split('/')[0] ?? 'example',
        GITHUB_RUN_ID: runId,
        GITHUB_RUN_NUMBER: '1',
        GITHUB_RUN_ATTEMPT: '1',
        GITHUB_WORKFLOW: 'CI',
        GITHUB_JOB: name,
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_SHA: '0'.repeat(40),
        GITHUB_REF: 'refs/pull/1/merge',
        GITHUB_WORKSPACE: workspace,
        RUNNER_TEMP: temp,
        RUNNER_OS: 'Linux',
        RUNNER_ARCH: 'X64',
        GITHUB_OUTPUT: files.output,
        GITHUB_STEP_SUMMARY: files.summary,
        GITHUB_ENV: files.env,
        GITHUB_STATE: files.state,
        GITHUB_PATH: files.path,
      };
      return {
        name,
        jobId,
        dir,
        env,
        link: jobLink,
        githubToken: service.apiToken,
        outputFile: files.output,
        summaryFile: files.summary,
        outputs: async () => parseCommandFile(await readFile(files.output, 'utf8')),
        summary: () => readFile(files.summary, 'utf8'),
      };
    };
    return { runId, runBackendId, createJob };
  };
  const firstRun = createRun();

  return {
    resultsUrl,
    blobEndpoint: azurite.endpoint,
    runBackendId: firstRun.runBackendId,
    runId: firstRun.runId,
    apiToken: service.apiToken,
    service,
    link,
    createJob: (name) => firstRun.createJob(name),
    createRun,
    stop: async () => {
      await service.close();
      await link.close();
      for (const jobLink of jobLinks) await jobLink.close();
      await azurite.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * Parses a runner command file (GITHUB_OUTPUT): `name=value` lines and the
 * multi-line form `name<<DELIMITER` … `DELIMITER` that @actions/core writes.
 */
export function parseCommandFile(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '') continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc?.[1] !== undefined && heredoc[2] !== undefined) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) body.push(lines[i] ?? '');
      result[heredoc[1]] = body.join('\n');
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) result[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return result;
}

/**
 * Runs `fn` with process.env set to a runner job's environment, as the
 * in-process artifact client reads it on each call; restores it afterwards.
 */
export async function withJobEnv<T>(job: RunnerJob, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, job.env);
  try {
    return await fn();
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
}
