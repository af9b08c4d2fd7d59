import { ArtifactNotFoundError, NetworkError, UsageError as QuotaError } from '@actions/artifact';
import { ArtifactServiceError, describeCause, isHandoverError, type HandoverError } from '../../errors.ts';

/**
 * Turns a failure of the artifact client into a typed error that says what
 * was being done, what the service answered and what to do about it.
 */
export function artifactServiceError(action: string, error: unknown): HandoverError {
  if (isHandoverError(error)) return error;
  const cause = describeCause(error).split('\n')[0] ?? '';
  if (error instanceof QuotaError) {
    return new ArtifactServiceError(`The artifact service refused ${action}: the repository's artifact storage quota is used up.`, {
      hint: 'Delete old artifacts or lower retention-days elsewhere in the repository, then re-run the job.',
      cause: error,
    });
  }
  if (error instanceof NetworkError) {
    return new ArtifactServiceError(`Could not reach the artifact service while ${action}: ${cause}.`, {
      hint: 'On a self-hosted runner, allow access to the GitHub Actions results service and blob storage; otherwise re-run the job.',
      cause: error,
    });
  }
  if (/ACTIONS_RUNTIME_TOKEN|ACTIONS_RESULTS_URL|JWT/.test(cause)) {
    return new ArtifactServiceError(`The artifact service is not available to this step while ${action}: ${cause}.`, {
      hint: 'GitHub artifacts work inside a GitHub Actions job (a JavaScript action gets the runtime token); elsewhere pass a store path with store: or --store.',
      cause: error,
    });
  }
  return new ArtifactServiceError(`The artifact service failed while ${action}: ${cause}.`, {
    hint: error instanceof ArtifactNotFoundError ? 'Check the name and that the producer job finished.' : 'Errors from the service can be temporary: re-run the job. If it persists, check githubstatus.com.',
    cause: error,
  });
}
