import { ArtifactQuotaError, ArtifactServiceError, describeCause, isHandoverError, type HandoverError } from '../../errors.ts';

/**
 * GitHub's answer when the account's artifact storage is used up, as a
 * typed error: what it is, and what to do. `answer` is what the service said.
 */
export function artifactQuotaExceeded(action: string, answer: string, details: Record<string, unknown> = {}, cause?: unknown): ArtifactQuotaError {
  return new ArtifactQuotaError(`GitHub refused ${action}: the artifact storage quota of the repository's account is used up (the artifact service answered ${answer}).`, {
    hint:
      'Artifacts count against the storage included in the account\'s GitHub plan until they expire. Delete artifacts that are no longer needed (on the runs\' pages or with the REST API), ' +
      'keep retention-days at 1 for image handovers, or raise the storage budget in the account\'s billing settings. GitHub recalculates usage every 6 to 12 hours, so re-runs may fail until then. ' +
      'On self-hosted runners that share a disk, a store directory (store: /path) avoids artifact storage altogether.',
    details,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Turns a failure of @actions/artifact (used for the zip form and other
 * runs' artifacts) into a typed error that says what was being done, what
 * the service answered and what to do about it. Its errors are told apart
 * by name, so this module does not load the package.
 */
export function artifactServiceError(action: string, error: unknown): HandoverError {
  if (isHandoverError(error)) return error;
  const cause = describeCause(error).split('\n')[0] ?? '';
  const name = error instanceof Error ? error.name : '';
  if (name === 'UsageError') return artifactQuotaExceeded(action, cause, {}, error);
  if (name === 'NetworkError') {
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
    hint: name === 'ArtifactNotFoundError' ? 'Check the name and that the producer job finished.' : 'Errors from the service can be temporary: re-run the job. If it persists, check githubstatus.com.',
    cause: error,
  });
}
