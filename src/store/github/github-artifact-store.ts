import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactClient, FindOptions } from '@actions/artifact';
import { OciArchiveReader } from '../../archive/oci-archive/oci-archive-reader.ts';
import { fileRangeSource } from '../../archive/oci-archive/range-source.ts';
import type { Digest } from '../../digest/digest.ts';
import { BlobDigestMismatchError, BundleNotFoundError, MalformedBundleError, UsageError, storeIOError } from '../../errors.ts';
import { parseBundleName } from '../bundle-name.ts';
import { LayoutSource } from '../layout/layout-source.ts';
import type { BundleListing, BundleSource, BundleWriter, Store } from '../store.ts';
import { ArchiveBundleWriter } from './archive-bundle-writer.ts';
import { openArtifact } from './archive-download.ts';
import { ArchiveSource } from './archive-source.ts';
import { ArchiveUpload } from './archive-upload.ts';
import { artifactServiceError } from './artifact-errors.ts';
import { artifactStoreLocation } from './artifact-location.ts';
import type { RetryContext, RetryPolicy } from './http/retry.ts';
import { ArtifactServiceClient, type ArtifactRecord } from './service/artifact-service-client.ts';
import { ArtifactServiceError } from '../../errors.ts';

/** Another workflow run to read from (needs a token with actions:read). */
export interface CrossRunSource {
  runId: number;
  /** owner/name */
  repository: string;
  token: string;
}

/** What the runner gives a JavaScript action to reach the artifact service. */
export interface ArtifactServiceAccess {
  /** ACTIONS_RESULTS_URL */
  resultsUrl: string;
  /** ACTIONS_RUNTIME_TOKEN */
  token: string;
}

export interface GitHubArtifactStoreOptions {
  /** Where layers are staged while they wait for the upload, and other runs' artifacts downloaded: RUNNER_TEMP on a runner. */
  tempRoot?: string | undefined;
  /** How long an uploaded artifact is kept, in days (0 or undefined: the repository's default). */
  retentionDays?: number | undefined;
  /** Read from another run instead of this one. */
  from?: CrossRunSource | undefined;
  /** The artifact service of this run; without it the store fails on first use, saying it needs a job. */
  service?: ArtifactServiceAccess | undefined;
  /** Describes the run for messages, e.g. "run 1234 of owner/repo". */
  runLabel?: string | undefined;
  /** Retries of the service and of blob storage (default: 5 attempts, 1 s doubling, at most 30 s). */
  retry?: RetryPolicy | undefined;
  onRetry?: RetryContext['onRetry'];
  /** Upload block size and blocks in flight (default 4 MiB, 4). */
  blockSize?: number | undefined;
  concurrency?: number | undefined;
  /** Called as upload blocks are stored, with the archive bytes stored so far. */
  onUploadProgress?: ((storedBytes: number) => void) | undefined;
  /** The @actions/artifact client, for artifacts of the earlier (zip) form and of other runs; the real one by default. */
  client?: ArtifactClient | undefined;
}

/** Facts about an uploaded artifact, returned in PublishedBundle.details. */
export interface ArtifactDetails {
  artifactName: string;
  artifactId: number;
  /** Bytes the artifact holds: the single-file archive. */
  artifactSize: number;
  /** sha256 of the archive, as recorded at finalize (what download-artifact checks). */
  artifactDigest: string;
  /** The artifact of this name deleted first (a re-run), if any. */
  replacedArtifactId: number | undefined;
  /** From creating the artifact to finalizing it, in milliseconds (the upload overlaps the export). */
  uploadMs: number;
}

/**
 * A store on GitHub Actions artifacts: one artifact per bundle name, a
 * single file — the bundle's OCI image layout in a tar, layers first and
 * everything a consumer verifies first at the end (docs/single-file-bundle.md).
 *
 * Writing streams: the artifact of that name is replaced and the new one
 * created at once, each layer goes up in blocks while it is compressed and
 * takes its place in the archive (its header, then those blocks in the
 * block list) as soon as it is done, and the artifact is finalized only
 * once the whole bundle is written and checked. Reading
 * streams too: the tail by one range request, then each layer the engine
 * needs by its own, straight into verification and the engine; layers the
 * engine holds are never downloaded. An artifact of the earlier form (a
 * zip of the layout) and another run's artifact are downloaded whole with
 * @actions/artifact first, then read from disk.
 */
export class GitHubArtifactStore implements Store {
  readonly kind = 'github-artifacts';
  readonly location: string;
  private readonly options: GitHubArtifactStoreOptions;
  private readonly tempRoot: string;
  private serviceClient: ArtifactServiceClient | undefined;

  constructor(options: GitHubArtifactStoreOptions = {}) {
    this.options = options;
    this.tempRoot = options.tempRoot ?? tmpdir();
    this.location = artifactStoreLocation(options);
  }

  async createBundle(name: string): Promise<BundleWriter> {
    const bundleName = parseBundleName(name);
    if (this.options.from !== undefined) {
      throw new UsageError(`Cannot export '${bundleName}' to ${this.location}: another run's artifacts are read-only.`, {
        hint: 'Export to this run (leave run-id unset); consumers in other runs read it with run-id.',
      });
    }
    const client = this.client();
    const { retry, onRetry } = this.options;
    let upload: ArchiveUpload;
    try {
      upload = await ArchiveUpload.start({
        client,
        name: bundleName,
        retentionDays: this.options.retentionDays,
        blob: { blockSize: this.options.blockSize, concurrency: this.options.concurrency, retry, onRetry, onProgress: this.options.onUploadProgress },
      });
    } catch (error) {
      throw artifactServiceError(`creating artifact '${bundleName}'`, error);
    }
    const staging = await this.makeTemp('handover-export-');
    return new ArchiveBundleWriter(upload, {
      staging,
      describe: (uploaded, uploadMs) => {
        const details: ArtifactDetails = {
          artifactName: uploaded.name,
          artifactId: uploaded.id,
          artifactSize: uploaded.size,
          artifactDigest: uploaded.digest,
          replacedArtifactId: uploaded.replacedId,
          uploadMs,
        };
        return { location: `artifact ${uploaded.name} (id ${uploaded.id}) in ${this.location}`, details: { ...details } };
      },
    });
  }

  async openBundle(name: string): Promise<BundleSource> {
    const bundleName = parseBundleName(name);
    if (this.options.from !== undefined) return await this.downloadWhole(bundleName);
    const client = this.client();
    const opened = await openArtifact(client, bundleName, { retry: this.options.retry, onRetry: this.options.onRetry });
    if (opened === undefined) throw await this.notFound(bundleName, async () => (await client.listArtifacts()).map((a) => a.name));
    const where = `artifact ${bundleName} (id ${opened.artifact.id}) in ${this.location}`;
    switch (opened.content.kind) {
      case 'oci-archive':
        return new ArchiveSource(bundleName, where, opened.content.reader);
      case 'zip':
        return await this.downloadWhole(bundleName, opened.artifact);
      default:
        throw unreadable(where);
    }
  }

  /**
   * The run's artifacts. A listing's digest is the artifact's own (of its
   * archive), as the service records it: the bundle digest is inside it.
   */
  async list(): Promise<BundleListing[]> {
    if (this.options.from !== undefined) {
      const client = await this.artifactClient();
      let artifacts;
      try {
        ({ artifacts } = await client.listArtifacts({ latest: true, ...this.findOptions() }));
      } catch (error) {
        throw artifactServiceError('listing artifacts', error);
      }
      return listings(artifacts.map((a) => ({ id: a.id, name: a.name, digest: a.digest, createdAt: a.createdAt })));
    }
    return listings(await this.client().listArtifacts());
  }

  /**
   * Downloads an artifact whole with @actions/artifact (another run's, or
   * one of the earlier zip form), into a temporary directory that the
   * source's close() removes; a single-file artifact is then read by
   * ranges from disk, a zip's layout from its files.
   */
  private async downloadWhole(name: string, record?: ArtifactRecord): Promise<BundleSource> {
    const client = await this.artifactClient();
    let id = record?.id;
    let digest = record?.digest;
    if (id === undefined) {
      try {
        const { artifact } = await client.getArtifact(name, this.findOptions());
        id = artifact.id;
        digest = artifact.digest;
      } catch (error) {
        if ((error as Error).name === 'ArtifactNotFoundError') {
          throw await this.notFound(name, async () => (await client.listArtifacts({ latest: true, ...this.findOptions() })).artifacts.map((a) => a.name));
        }
        throw artifactServiceError(`looking up artifact '${name}'`, error);
      }
    }
    const directory = await this.makeTemp('handover-load-');
    const remove = (): Promise<void> => rm(directory, { recursive: true, force: true });
    const where = `artifact ${name} (id ${id}) in ${this.location}`;
    try {
      try {
        const download = await client.downloadArtifact(id, { path: directory, ...(digest === undefined ? {} : { expectedHash: digest }), ...this.findOptions() });
        if (download.digestMismatch === true) {
          throw new BlobDigestMismatchError(`Artifact '${name}' (id ${id}) downloaded with a different digest than the service recorded at upload (${digest}).`, {
            hint: 'The artifact was altered or the download was corrupted. Re-run this job; if it recurs, re-run the producer job.',
          });
        }
      } catch (error) {
        throw artifactServiceError(`downloading artifact '${name}' (id ${id})`, error);
      }
      const files = await readdir(directory);
      if (files.includes('index.json')) return new LayoutSource(name, directory, remove);
      const [file] = files;
      if (files.length === 1 && file !== undefined) {
        const opened = await OciArchiveReader.open(await fileRangeSource(join(directory, file)));
        if (opened.kind === 'oci-archive') return new ArchiveSource(name, where, opened.reader, remove);
      }
      throw unreadable(where);
    } catch (error) {
      await remove();
      throw error;
    }
  }

  private client(): ArtifactServiceClient {
    const service = this.options.service;
    if (service === undefined) {
      throw new ArtifactServiceError(`The artifact service is not available to this step: ACTIONS_RUNTIME_TOKEN and ACTIONS_RESULTS_URL are not set.`, {
        hint: 'GitHub artifacts work inside a GitHub Actions job (a JavaScript action gets the runtime token); elsewhere pass a store path with store: or --store.',
      });
    }
    this.serviceClient ??= new ArtifactServiceClient({ ...service, retry: this.options.retry, onRetry: this.options.onRetry });
    return this.serviceClient;
  }

  /** @actions/artifact, loaded only when needed: it and the Azure SDK under it cost some 60 MiB of memory. */
  private async artifactClient(): Promise<ArtifactClient> {
    if (this.options.client !== undefined) return this.options.client;
    const { DefaultArtifactClient } = await import('@actions/artifact');
    return new DefaultArtifactClient();
  }

  private findOptions(): FindOptions {
    const from = this.options.from;
    if (from === undefined) return {};
    const [owner = '', repo = ''] = from.repository.split('/');
    return { findBy: { token: from.token, workflowRunId: from.runId, repositoryOwner: owner, repositoryName: repo } };
  }

  private async notFound(name: string, listNames: () => Promise<string[]>): Promise<BundleNotFoundError> {
    let names: string[] | undefined;
    try {
      names = [...new Set(await listNames())].sort();
    } catch {
      names = undefined;
    }
    const has =
      names === undefined ? 'Its artifacts could not be listed.' : names.length === 0 ? 'It has no artifacts.' : `It has: ${names.join(', ')}.`;
    return new BundleNotFoundError(`No artifact named '${name}' in ${this.location}. ${has}`, {
      hint: 'Use the name the export step used (default docker-image), and make this job need the producer job so it runs after the upload.',
      details: { name, available: names ?? [] },
    });
  }

  private async makeTemp(prefix: string): Promise<string> {
    try {
      await mkdir(this.tempRoot, { recursive: true });
      return await mkdtemp(join(this.tempRoot, prefix));
    } catch (error) {
      throw storeIOError('creating a temporary directory in', this.tempRoot, error);
    }
  }
}

function listings(artifacts: ReadonlyArray<{ id: number; name: string; digest: string | undefined; createdAt: Date | undefined }>): BundleListing[] {
  return artifacts
    .filter((a) => a.digest !== undefined && /^sha256:[0-9a-f]{64}$/.test(a.digest))
    .map((a) => ({ name: a.name, digest: a.digest as Digest, updatedAt: a.createdAt ?? new Date(0), location: `artifact ${a.name} (id ${a.id})` }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function unreadable(where: string): MalformedBundleError {
  return new MalformedBundleError(`The ${where} is neither a handover archive nor a zip of a bundle: it has no table of contents at its end.`, {
    hint: 'It was not written by handover export, or was truncated or altered in storage. Re-run the producer job, then this one.',
  });
}
