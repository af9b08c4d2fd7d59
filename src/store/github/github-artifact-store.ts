import { readFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactNotFoundError, DefaultArtifactClient, type ArtifactClient, type FindOptions } from '@actions/artifact';
import { OCI_LAYOUT_CONTENT } from '../../bundle/build.ts';
import { referencedBlobs } from '../../bundle/references.ts';
import { digestHex, sha256Digest, type Digest } from '../../digest/digest.ts';
import { BlobDigestMismatchError, BlobMissingError, BundleNotFoundError, UsageError, storeIOError } from '../../errors.ts';
import { parseBundleName } from '../bundle-name.ts';
import { BLOBS_DIR, BlobDirectory } from '../layout/blob-directory.ts';
import { INDEX_FILE, LayoutSource, OCI_LAYOUT_FILE } from '../layout/layout-source.ts';
import { LayoutBundleWriter } from '../layout/layout-writer.ts';
import type { BundleListing, BundleSource, BundleWriter, PublishedBundle, Store } from '../store.ts';
import { artifactServiceError } from './artifact-errors.ts';
import { artifactStoreLocation } from './artifact-location.ts';

/** Another workflow run to read from (needs a token with actions:read). */
export interface CrossRunSource {
  runId: number;
  /** owner/name */
  repository: string;
  token: string;
}

export interface GitHubArtifactStoreOptions {
  /** Where bundles are staged and downloaded: RUNNER_TEMP on a runner. */
  tempRoot?: string;
  /** How long an uploaded artifact is kept, in days (0 or undefined: the repository's default). */
  retentionDays?: number;
  /** Read from another run instead of this one. */
  from?: CrossRunSource;
  /** The artifact client; the real one by default. */
  client?: ArtifactClient;
  /** Describes the run for messages, e.g. "run 1234 of owner/repo". */
  runLabel?: string;
}

/** Facts about an uploaded artifact, returned in PublishedBundle.details. */
export interface ArtifactDetails {
  artifactName: string;
  artifactId: number;
  /** Bytes the artifact holds (its zip: layers are stored, not compressed again). */
  artifactSize: number;
  /** sha256 of the artifact's zip as the service recorded it. */
  artifactDigest: string | undefined;
  /** Time spent replacing and uploading the artifact, in milliseconds. */
  uploadMs: number;
}

/**
 * A store on GitHub Actions artifacts: one artifact per bundle name, holding
 * the bundle's OCI image layout (oci-layout, index.json, blobs/sha256/…).
 *
 * Writing stages the layout in a temporary directory and uploads it when the
 * bundle is published, replacing an artifact of the same name in the run (so
 * re-runs work). Layers are already compressed, so the zip stores them
 * (compression level 0). Reading downloads the artifact into a temporary
 * directory that the source's close() removes; every blob is verified by the
 * reader as it streams, like any other store.
 */
export class GitHubArtifactStore implements Store {
  readonly kind = 'github-artifacts';
  readonly location: string;
  private readonly client: ArtifactClient;
  private readonly tempRoot: string;
  private readonly retentionDays: number | undefined;
  private readonly findBy: FindOptions['findBy'];

  constructor(options: GitHubArtifactStoreOptions = {}) {
    this.client = options.client ?? new DefaultArtifactClient();
    this.tempRoot = options.tempRoot ?? tmpdir();
    this.retentionDays = options.retentionDays;
    const from = options.from;
    if (from !== undefined) {
      const [owner = '', repo = ''] = from.repository.split('/');
      this.findBy = { token: from.token, workflowRunId: from.runId, repositoryOwner: owner, repositoryName: repo };
    } else {
      this.findBy = undefined;
    }
    this.location = artifactStoreLocation(options);
  }

  async createBundle(name: string): Promise<BundleWriter> {
    const bundleName = parseBundleName(name);
    if (this.findBy !== undefined) {
      throw new UsageError(`Cannot export '${bundleName}' to ${this.location}: another run's artifacts are read-only.`, {
        hint: 'Export to this run (leave run-id unset); consumers in other runs read it with run-id.',
      });
    }
    const staging = await this.makeTemp('handover-export-');
    const blobs = new BlobDirectory(join(staging, 'layout'), join(staging, 'partial'));
    await blobs.ensure();
    const discard = (): Promise<void> => rm(staging, { recursive: true, force: true });
    return new LayoutBundleWriter(blobs, {
      publish: async (index) => {
        const published = await this.publishStaged(bundleName, blobs, index);
        await discard();
        return published;
      },
      discard,
    });
  }

  async openBundle(name: string): Promise<BundleSource> {
    const bundleName = parseBundleName(name);
    let artifact;
    try {
      artifact = (await this.client.getArtifact(bundleName, this.findOptions())).artifact;
    } catch (error) {
      if (error instanceof ArtifactNotFoundError) throw await this.notFound(bundleName);
      throw artifactServiceError(`looking up artifact '${bundleName}'`, error);
    }
    const directory = await this.makeTemp('handover-load-');
    const remove = (): Promise<void> => rm(directory, { recursive: true, force: true });
    try {
      const download = await this.client.downloadArtifact(artifact.id, {
        path: directory,
        ...(artifact.digest === undefined ? {} : { expectedHash: artifact.digest }),
        ...this.findOptions(),
      });
      if (download.digestMismatch === true) {
        throw new BlobDigestMismatchError(
          `Artifact '${bundleName}' (id ${artifact.id}) downloaded with a different digest than the service recorded at upload (${artifact.digest}).`,
          { hint: 'The artifact was altered or the download was corrupted. Re-run this job; if it recurs, re-run the producer job.' },
        );
      }
    } catch (error) {
      await remove();
      throw artifactServiceError(`downloading artifact '${bundleName}' (id ${artifact.id})`, error);
    }
    return new LayoutSource(bundleName, directory, remove);
  }

  /**
   * The run's artifacts. A listing's digest is the artifact's own (of its
   * zip), as the service records it: the bundle digest is inside the artifact.
   */
  async list(): Promise<BundleListing[]> {
    let artifacts;
    try {
      ({ artifacts } = await this.client.listArtifacts({ latest: true, ...this.findOptions() }));
    } catch (error) {
      throw artifactServiceError('listing artifacts', error);
    }
    return artifacts
      .filter((a) => a.digest !== undefined && /^sha256:[0-9a-f]{64}$/.test(a.digest))
      .map((a) => ({
        name: a.name,
        digest: a.digest as Digest,
        updatedAt: a.createdAt ?? new Date(0),
        location: `artifact ${a.name} (id ${a.id})`,
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Uploads the staged layout: only what the index references, blobs first, the index last. */
  private async publishStaged(name: string, blobs: BlobDirectory, index: Uint8Array): Promise<PublishedBundle> {
    const layout = blobs.root;
    const missing = (digest: Digest, cause: unknown): BlobMissingError =>
      new BlobMissingError(`Bundle '${name}' references blob ${digest}, which was never written to it.`, {
        hint: 'This is a bug in the export flow: the index was published before its blobs. Please report it.',
        details: { digest },
        ...(cause === undefined ? {} : { cause }),
      });
    const digests = await referencedBlobs(index, async (digest) => {
      try {
        return await readFile(blobs.path(digest));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw missing(digest, error);
      }
    });
    for (const digest of digests) if (!(await blobs.has(digest))) throw missing(digest, undefined);
    try {
      await writeFile(join(layout, OCI_LAYOUT_FILE), OCI_LAYOUT_CONTENT);
      await writeFile(join(layout, INDEX_FILE), index);
    } catch (error) {
      throw storeIOError('staging the bundle in', layout, error);
    }
    const files = [...digests.map((d) => join(layout, BLOBS_DIR, digestHex(d))), join(layout, OCI_LAYOUT_FILE), join(layout, INDEX_FILE)];
    const details = await this.upload(name, layout, files);
    return {
      name,
      digest: sha256Digest(index),
      location: `artifact ${details.artifactName} (id ${details.artifactId}) in ${this.location}`,
      details: { ...details },
    };
  }

  private async upload(name: string, layout: string, files: string[]): Promise<ArtifactDetails> {
    const started = performance.now();
    try {
      await this.client.deleteArtifact(name);
    } catch (error) {
      if (!(error instanceof ArtifactNotFoundError)) throw artifactServiceError(`replacing artifact '${name}'`, error);
    }
    try {
      const uploaded = await this.client.uploadArtifact(name, files, layout, {
        compressionLevel: 0,
        ...(this.retentionDays === undefined ? {} : { retentionDays: this.retentionDays }),
      });
      if (uploaded.id === undefined) throw new Error('the service returned no artifact id');
      return {
        artifactName: name,
        artifactId: uploaded.id,
        artifactSize: uploaded.size ?? 0,
        artifactDigest: uploaded.digest === undefined ? undefined : `sha256:${uploaded.digest}`,
        uploadMs: Math.round(performance.now() - started),
      };
    } catch (error) {
      throw artifactServiceError(`uploading artifact '${name}'`, error);
    }
  }

  private findOptions(): FindOptions {
    return this.findBy === undefined ? {} : { findBy: this.findBy };
  }

  private async notFound(name: string): Promise<BundleNotFoundError> {
    let names: string[] | undefined;
    try {
      names = (await this.client.listArtifacts({ latest: true, ...this.findOptions() })).artifacts.map((a) => a.name).sort();
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
