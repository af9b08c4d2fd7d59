import { ArtifactServiceError } from '../../../errors.ts';

/** The workflow run and the job a runtime token speaks for, as the artifact service names them. */
export interface BackendIds {
  workflowRunBackendId: string;
  workflowJobRunBackendId: string;
}

/**
 * Reads the backend ids from ACTIONS_RUNTIME_TOKEN, a JWT whose `scp` claim
 * holds `Actions.Results:<run backend id>:<job backend id>` among other
 * scopes (as @actions/artifact reads them: lib/internal/shared/util.js).
 * The signature is the service's to check, not ours.
 */
export function backendIdsFromToken(token: string): BackendIds {
  const invalid = (found: string): ArtifactServiceError =>
    new ArtifactServiceError(`The runtime token (ACTIONS_RUNTIME_TOKEN) is not one the artifact service issues: ${found}.`, {
      hint: 'GitHub artifacts work inside a GitHub Actions job, where the runner gives JavaScript actions this token; elsewhere choose a store directory.',
    });
  const payload = token.split('.')[1];
  if (payload === undefined) throw invalid('it is not a JWT');
  let claims: { scp?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { scp?: unknown };
  } catch {
    throw invalid('its claims are not JSON');
  }
  if (typeof claims.scp !== 'string') throw invalid('it has no scp claim');
  for (const scope of claims.scp.split(' ')) {
    const parts = scope.split(':');
    if (parts[0] !== 'Actions.Results') continue;
    const [, run, job] = parts;
    if (parts.length !== 3 || run === undefined || run === '' || job === undefined || job === '') throw invalid(`its Actions.Results scope is '${scope}'`);
    return { workflowRunBackendId: run, workflowJobRunBackendId: job };
  }
  throw invalid('it grants no Actions.Results scope');
}
