import { ArtifactServiceError, type HandoverError } from '../../../errors.ts';
import type { TransientFailure, RetryPolicy } from '../http/retry.ts';

/** The blob changed since it was first read (ETag no longer matches): the artifact was replaced. */
export class BlobChangedAnswer extends ArtifactServiceError {}
/** The blob is gone (404): the artifact was deleted or expired. */
export class BlobGoneAnswer extends ArtifactServiceError {}

/** Blob storage's own error code, from its x-ms-error-code header or XML body. */
export function storageErrorCode(headerValue: string | undefined, body: string): string {
  if (headerValue !== undefined && headerValue !== '') return headerValue;
  return /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? '';
}

/** A refusal by blob storage (not worth retrying), as a typed error. */
export function blobRefused(action: string, status: number, code: string): HandoverError {
  const answer = `${status}${code === '' ? '' : ` ${code}`}`;
  const details = { status, storageCode: code };
  if (status === 412) {
    return new BlobChangedAnswer(`The artifact's content changed while ${action} (blob storage answered ${answer}): it was replaced, most likely by a re-run of the producer job.`, {
      hint: 'Re-run this job once the producer job has finished; pin the bundle with expect so a consumer never takes another run\'s bundle for its own.',
      details,
    });
  }
  if (status === 404) {
    return new BlobGoneAnswer(`The artifact's content is gone from blob storage while ${action} (${answer}): it was deleted or has expired.`, {
      hint: 'Re-run the producer job, then this one.',
      details,
    });
  }
  if (status === 403) {
    return new ArtifactServiceError(`Blob storage refused the signed URL while ${action} (${answer}); it may have expired.`, {
      hint: 'Signed URLs are short-lived; re-run the job. On a self-hosted runner, check its clock.',
      details,
    });
  }
  return new ArtifactServiceError(`Blob storage refused ${action} (${answer}).`, {
    hint: 'This looks like a bug in handover or a change in the service; please report it with this message.',
    details,
  });
}

/** The error once every attempt failed transiently. */
export function blobUnavailable(action: string, policy: RetryPolicy, last: TransientFailure): HandoverError {
  return new ArtifactServiceError(`Blob storage failed while ${action}, ${policy.maxAttempts} times in a row; the last failure: ${last.message}.`, {
    hint: 'The network or GitHub\'s storage is having trouble; re-run the job. On a self-hosted runner, check that it can reach *.blob.core.windows.net.',
    cause: last,
    details: { status: last.status },
  });
}
