import { ArtifactServiceError, type HandoverError } from '../../../errors.ts';
import { artifactQuotaExceeded } from '../artifact-errors.ts';
import { bodyText, header, readBody, sendRequest } from '../http/request.ts';
import { DEFAULT_RETRY, TransientFailure, isTransientStatus, parseRetryAfter, withRetries, type RetryContext, type RetryPolicy } from '../http/retry.ts';
import { backendIdsFromToken, type BackendIds } from './backend-ids.ts';

/**
 * The Results service's ArtifactService, spoken as @actions/artifact 6.2.x
 * speaks it (lib/internal/shared/artifact-twirp-client.js and the generated
 * lib/generated/results/api/v1/artifact*.js): Twirp over HTTP POST to
 * `<origin of ACTIONS_RESULTS_URL>/twirp/github.actions.results.api.v1.ArtifactService/<Method>`,
 * JSON bodies with proto field names, int64 as strings, wrapper types
 * (StringValue, Int64Value) as bare values, timestamps as RFC 3339, and the
 * runtime token as a bearer token. Answers may use either proto or JSON
 * (camelCase) field names. Errors are `{code, msg}`.
 */
export const ARTIFACT_SERVICE = 'github.actions.results.api.v1.ArtifactService';

/**
 * Artifact version 7 is what upload-artifact v7 creates; the service accepts
 * single-file (non-zip) content only from version 7 on (@actions/artifact
 * 6.2.0 release notes; lib/internal/upload/upload-artifact.js).
 */
export const ARTIFACT_VERSION = 7;

export interface ArtifactServiceOptions {
  /** ACTIONS_RESULTS_URL; only its origin is used, as the official client does. */
  resultsUrl: string;
  /** ACTIONS_RUNTIME_TOKEN */
  token: string;
  retry?: RetryPolicy | undefined;
  onRetry?: RetryContext['onRetry'];
}

/** An artifact as ListArtifacts describes it. */
export interface ArtifactRecord {
  id: number;
  name: string;
  size: number;
  /** `sha256:<hex>` as given at finalize; absent for artifacts uploaded without one. */
  digest: string | undefined;
  createdAt: Date | undefined;
  /** The ids of the run and job that uploaded it; GetSignedArtifactURL and DeleteArtifact need them. */
  workflowRunBackendId: string;
  workflowJobRunBackendId: string;
}

/** The service answered that no such artifact exists. */
export class ArtifactNotFoundAnswer extends ArtifactServiceError {}
/** The service answered that an artifact of this name already exists in the run. */
export class ArtifactConflictAnswer extends ArtifactServiceError {}

type Json = Record<string, unknown>;

/** A field under its proto name or its JSON (camelCase) name. */
function field(body: Json, protoName: string): unknown {
  if (protoName in body) return body[protoName];
  return body[protoName.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())];
}

function stringField(body: Json, name: string): string {
  const value = field(body, name);
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

/** An int64 (a string in proto JSON) or a wrapper's bare value. */
function numberField(body: Json, name: string): number {
  const value = Number(stringField(body, name) || 0);
  return Number.isSafeInteger(value) ? value : 0;
}

/** The usage message the service sends when the storage quota is used up (lib/internal/shared/errors.js). */
export function isQuotaMessage(message: string): boolean {
  return message.includes('insufficient usage');
}

/**
 * A small client of the artifact service. Every call is retried on 5xx, 429
 * and connection failures, with the given policy; other answers become typed
 * errors that say what the service answered.
 */
export class ArtifactServiceClient {
  readonly ids: BackendIds;
  private readonly base: string;
  private readonly token: string;
  private readonly retry: RetryPolicy;
  private readonly onRetry: RetryContext['onRetry'];

  constructor(options: ArtifactServiceOptions) {
    this.ids = backendIdsFromToken(options.token);
    this.base = new URL(options.resultsUrl).origin;
    this.token = options.token;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.onRetry = options.onRetry;
  }

  /** Creates a pending artifact of this job; resolves with the SAS URL its content is written to. */
  async createArtifact(request: { name: string; mimeType: string; expiresAt?: Date | undefined }): Promise<string> {
    const body = await this.call('CreateArtifact', `creating artifact '${request.name}'`, {
      ...this.jobIds(),
      name: request.name,
      mime_type: request.mimeType,
      version: ARTIFACT_VERSION,
      ...(request.expiresAt === undefined ? {} : { expires_at: request.expiresAt.toISOString() }),
    });
    const url = stringField(body, 'signed_upload_url');
    if (field(body, 'ok') !== true || url === '') throw this.unexpected('CreateArtifact', 'no signed upload URL');
    return url;
  }

  /** Makes the uploaded content an artifact, recording its size and sha256; resolves with its id. */
  async finalizeArtifact(request: { name: string; size: number; sha256: string }): Promise<number> {
    const body = await this.call('FinalizeArtifact', `finalizing artifact '${request.name}'`, {
      ...this.jobIds(),
      name: request.name,
      size: String(request.size),
      hash: `sha256:${request.sha256}`,
    });
    const id = numberField(body, 'artifact_id');
    if (field(body, 'ok') !== true || id === 0) throw this.unexpected('FinalizeArtifact', 'no artifact id');
    return id;
  }

  /** The run's finalized artifacts, optionally of one name or id; the newest first. */
  async listArtifacts(filter: { name?: string; id?: number } = {}): Promise<ArtifactRecord[]> {
    const body = await this.call('ListArtifacts', filter.name === undefined ? 'listing artifacts' : `looking up artifact '${filter.name}'`, {
      workflow_run_backend_id: this.ids.workflowRunBackendId,
      workflow_job_run_backend_id: this.ids.workflowJobRunBackendId,
      ...(filter.name === undefined ? {} : { name_filter: filter.name }),
      ...(filter.id === undefined ? {} : { id_filter: String(filter.id) }),
    });
    const raw = field(body, 'artifacts');
    const list = Array.isArray(raw) ? (raw as Json[]) : [];
    return list
      .map((a) => {
        const created = stringField(a, 'created_at');
        const digest = stringField(a, 'digest');
        return {
          id: numberField(a, 'database_id'),
          name: stringField(a, 'name'),
          size: numberField(a, 'size'),
          digest: digest === '' ? undefined : digest,
          createdAt: created === '' ? undefined : new Date(created),
          workflowRunBackendId: stringField(a, 'workflow_run_backend_id'),
          workflowJobRunBackendId: stringField(a, 'workflow_job_run_backend_id'),
        };
      })
      .sort((a, b) => b.id - a.id);
  }

  /** A SAS URL to read an artifact's content (ranged GETs work on it). */
  async signedArtifactUrl(artifact: Pick<ArtifactRecord, 'name' | 'workflowRunBackendId' | 'workflowJobRunBackendId'>): Promise<string> {
    const body = await this.call('GetSignedArtifactURL', `asking for the download URL of artifact '${artifact.name}'`, {
      workflow_run_backend_id: artifact.workflowRunBackendId,
      workflow_job_run_backend_id: artifact.workflowJobRunBackendId,
      name: artifact.name,
    });
    const url = stringField(body, 'signed_url');
    if (url === '') throw this.unexpected('GetSignedArtifactURL', 'no signed URL');
    return url;
  }

  /** Deletes an artifact; resolves with its id. */
  async deleteArtifact(artifact: Pick<ArtifactRecord, 'name' | 'workflowRunBackendId' | 'workflowJobRunBackendId'>): Promise<number> {
    const body = await this.call('DeleteArtifact', `deleting artifact '${artifact.name}'`, {
      workflow_run_backend_id: artifact.workflowRunBackendId,
      workflow_job_run_backend_id: artifact.workflowJobRunBackendId,
      name: artifact.name,
    });
    return numberField(body, 'artifact_id');
  }

  private jobIds(): Json {
    return { workflow_run_backend_id: this.ids.workflowRunBackendId, workflow_job_run_backend_id: this.ids.workflowJobRunBackendId };
  }

  private async call(method: string, action: string, request: Json): Promise<Json> {
    const url = new URL(`/twirp/${ARTIFACT_SERVICE}/${method}`, this.base);
    const payload = Buffer.from(JSON.stringify(request));
    try {
      return await withRetries(
        this.retry,
        async () => {
          const response = await sendRequest({
            method: 'POST',
            url,
            headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}`, accept: 'application/json' },
            body: payload,
            idleTimeoutMs: 60_000,
          });
          if (response.status >= 200 && response.status < 300) {
            const text = (await readBody(response)).toString('utf8');
            try {
              const parsed = JSON.parse(text === '' ? '{}' : text) as unknown;
              if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return parsed as Json;
            } catch {
              // answered below
            }
            throw this.unexpected(method, 'an answer that is not a JSON object');
          }
          const text = await bodyText(response);
          let twirp: { code?: unknown; msg?: unknown } = {};
          try {
            twirp = JSON.parse(text) as typeof twirp;
          } catch {
            // not Twirp JSON: a proxy's page, say; the status speaks
          }
          const msg = typeof twirp.msg === 'string' ? twirp.msg : text.trim().slice(0, 200);
          const code = typeof twirp.code === 'string' ? twirp.code : '';
          const answer = `${response.status}${code === '' ? '' : ` ${code}`}${msg === '' ? '' : `: ${msg}`}`;
          if (isTransientStatus(response.status)) {
            throw new TransientFailure(answer, { status: response.status, retryAfterMs: parseRetryAfter(header(response, 'retry-after')) });
          }
          throw this.refused(action, response.status, code, msg, answer);
        },
        { onRetry: this.onRetry },
      );
    } catch (error) {
      if (error instanceof TransientFailure) {
        throw new ArtifactServiceError(`The artifact service failed while ${action}, ${this.retry.maxAttempts} times; the last answer: ${error.message}.`, {
          hint: 'The service or the network to it is having trouble; re-run the job. If it persists, check githubstatus.com (on a self-hosted runner, that it can reach the results service).',
          cause: error,
          details: { method, status: error.status },
        });
      }
      throw error;
    }
  }

  private refused(action: string, status: number, code: string, msg: string, answer: string): HandoverError {
    const details = { status, twirpCode: code, msg };
    if (status === 403 && isQuotaMessage(msg)) return artifactQuotaExceeded(action, answer, details);
    if (status === 404) return new ArtifactNotFoundAnswer(`The artifact service found nothing while ${action} (${answer}).`, { details });
    if (status === 409) return new ArtifactConflictAnswer(`The artifact service refused ${action}: ${answer}.`, { details });
    if (status === 401 || status === 403) {
      return new ArtifactServiceError(`The artifact service did not accept this job's token while ${action} (${answer}).`, {
        hint: 'GitHub artifacts work inside a GitHub Actions job with the runner\'s ACTIONS_RUNTIME_TOKEN; a job can write only its own artifacts and read only its run\'s.',
        details,
      });
    }
    return new ArtifactServiceError(`The artifact service refused ${action}: ${answer}.`, {
      hint: 'This looks like a bug in handover or a change in the service; please report it with this message.',
      details,
    });
  }

  private unexpected(method: string, found: string): ArtifactServiceError {
    return new ArtifactServiceError(`The artifact service answered ${method} with ${found}.`, {
      hint: 'The service may have changed its protocol; please report it. Re-running the job may help if it was a glitch.',
    });
  }
}
