import { ArtifactNotFoundError, NetworkError, UsageError as QuotaError } from '@actions/artifact';
import { describe, expect, it } from 'vitest';
import { ArtifactServiceError, ExitStatus, VerificationError } from '../../../src/errors.ts';
import { artifactServiceError } from '../../../src/store/github/artifact-errors.ts';

describe('artifact client failures as typed errors', () => {
  it('says what was being done and keeps the client error as cause', () => {
    const cause = new Error('Failed to CreateArtifact: Received non-retryable error: Failed request: (403) Forbidden');
    const error = artifactServiceError("uploading artifact 'docker-image'", cause);
    expect(error).toBeInstanceOf(ArtifactServiceError);
    expect(error.exitStatus).toBe(ExitStatus.store);
    expect(error.message).toBe("The artifact service failed while uploading artifact 'docker-image': Failed to CreateArtifact: Received non-retryable error: Failed request: (403) Forbidden.");
    expect(error.cause).toBe(cause);
  });

  it('explains a used-up storage quota, an unreachable service and a step outside a runner', () => {
    const quota = artifactServiceError("creating artifact 'docker-image'", new QuotaError());
    expect(quota.code).toBe('ARTIFACT_QUOTA_EXCEEDED');
    expect(quota.message).toMatch(/^GitHub refused creating artifact 'docker-image': the artifact storage quota of the repository's account is used up/);
    expect(quota.hint).toMatch(/retention-days/);
    const network = artifactServiceError('downloading', new NetworkError('ECONNREFUSED'));
    expect(network.message).toBe('Could not reach the artifact service while downloading: Unable to make request: ECONNREFUSED.');
    expect(network.hint).toMatch(/self-hosted runner/);
    const outside = artifactServiceError('listing artifacts', new Error('Unable to get the ACTIONS_RUNTIME_TOKEN env variable'));
    expect(outside.message).toMatch(/not available to this step/);
    expect(outside.hint).toMatch(/store: or --store/);
    expect(artifactServiceError('x', new ArtifactNotFoundError('gone')).hint).toMatch(/producer job finished/);
  });

  it('passes typed errors through unchanged', () => {
    const typed = new VerificationError('nope');
    expect(artifactServiceError('x', typed)).toBe(typed);
  });
});
