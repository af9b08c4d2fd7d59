/**
 * Typed errors. Every error a user can meet has a stable `code`, an exit
 * status per class, and a message that says what was expected, what was
 * found and what to do (`hint`). The CLI's one error boundary turns them into
 * output and an exit status; the actions pass the same message to setFailed.
 */

/** Exit statuses, one per class of failure. Documented in the README. */
export const ExitStatus = {
  ok: 0,
  /** `check` found where workflows break the handover (a verdict, not a failure). */
  findings: 1,
  /** Bad command line or bad input value (flags, image references). */
  usage: 2,
  /** Something named does not exist: image, store, bundle, file. */
  notFound: 3,
  /** The Docker Engine is unreachable or refused the work. */
  engine: 4,
  /** The bundle is not what was recorded: corrupt, altered, not pinned digest, unverified load. */
  integrity: 5,
  /** The bundle uses a format or feature this version does not understand. */
  unsupported: 6,
  /** The store failed to read or write (I/O, disk full, permissions, artifact service). */
  store: 7,
  /** Unexpected internal failure (a bug): report it. No command uses it for a verdict. */
  internal: 70,
  /** Interrupted by a signal. */
  interrupted: 130,
} as const;
export type ExitStatus = (typeof ExitStatus)[keyof typeof ExitStatus];

export interface HandoverErrorOptions {
  /** What to do about it. Printed after the message. */
  hint?: string;
  cause?: unknown;
  /** Extra machine-readable facts for --json output. */
  details?: Record<string, unknown>;
}

export abstract class HandoverError extends Error {
  abstract readonly code: string;
  abstract readonly exitStatus: ExitStatus;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(message: string, options: HandoverErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      exitStatus: this.exitStatus,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(Object.keys(this.details).length === 0 ? {} : { details: this.details }),
    };
  }
}

/** Builds a concrete error class with a fixed code and exit status. */
function errorClass<C extends string>(code: C, exitStatus: ExitStatus) {
  return class extends HandoverError {
    readonly code: C = code;
    readonly exitStatus: ExitStatus = exitStatus;
  };
}

// --- usage (2) -------------------------------------------------------------
export class UsageError extends errorClass('USAGE', ExitStatus.usage) {}
export class EmptyReferenceError extends errorClass('REF_EMPTY', ExitStatus.usage) {}
export class InvalidReferenceError extends errorClass('REF_INVALID', ExitStatus.usage) {}
export class InvalidNameError extends errorClass('NAME_INVALID', ExitStatus.usage) {}
export class InvalidDigestError extends errorClass('DIGEST_INVALID', ExitStatus.usage) {}
/** A workflow file that is not valid YAML or not shaped like a GitHub Actions workflow. */
export class WorkflowParseError extends errorClass('WORKFLOW_PARSE', ExitStatus.usage) {}

// --- not found (3) ---------------------------------------------------------
export class ImageNotFoundError extends errorClass('IMAGE_NOT_FOUND', ExitStatus.notFound) {}
export class StoreNotFoundError extends errorClass('STORE_NOT_FOUND', ExitStatus.notFound) {}
export class BundleNotFoundError extends errorClass('BUNDLE_NOT_FOUND', ExitStatus.notFound) {}
export class FileNotFoundError extends errorClass('FILE_NOT_FOUND', ExitStatus.notFound) {}
/** The bundle holds the image, but not for the platform the engine runs (or --platform names). */
export class PlatformNotFoundError extends errorClass('PLATFORM_NOT_FOUND', ExitStatus.notFound) {}

// --- engine (4) ------------------------------------------------------------
export class EngineUnreachableError extends errorClass('ENGINE_UNREACHABLE', ExitStatus.engine) {}
export class EngineRequestError extends errorClass('ENGINE_ERROR', ExitStatus.engine) {}
export class EngineLoadError extends errorClass('ENGINE_LOAD_FAILED', ExitStatus.engine) {}
/** The engine speaks an API too old for what handover asks of it. */
export class EngineTooOldError extends errorClass('ENGINE_TOO_OLD', ExitStatus.engine) {}

// --- integrity (5) ---------------------------------------------------------
export class BlobMissingError extends errorClass('BLOB_MISSING', ExitStatus.integrity) {}
export class BlobSizeMismatchError extends errorClass('BLOB_SIZE_MISMATCH', ExitStatus.integrity) {}
export class BlobDigestMismatchError extends errorClass('BLOB_DIGEST_MISMATCH', ExitStatus.integrity) {}
export class BundleDigestMismatchError extends errorClass('BUNDLE_DIGEST_MISMATCH', ExitStatus.integrity) {}
export class MalformedBundleError extends errorClass('BUNDLE_MALFORMED', ExitStatus.integrity) {}
export class UnsafePathError extends errorClass('PATH_UNSAFE', ExitStatus.integrity) {}
export class MalformedArchiveError extends errorClass('ARCHIVE_MALFORMED', ExitStatus.integrity) {}
export class VerificationError extends errorClass('VERIFY_FAILED', ExitStatus.integrity) {}
export class LimitExceededError extends errorClass('LIMIT_EXCEEDED', ExitStatus.integrity) {}

// --- unsupported (6) -------------------------------------------------------
export class UnsupportedVersionError extends errorClass('BUNDLE_VERSION_UNSUPPORTED', ExitStatus.unsupported) {}
export class UnsupportedMediaTypeError extends errorClass('MEDIA_TYPE_UNSUPPORTED', ExitStatus.unsupported) {}

// --- store (7) -------------------------------------------------------------
export class StoreIOError extends errorClass('STORE_IO', ExitStatus.store) {}
export class StoreFullError extends errorClass('STORE_FULL', ExitStatus.store) {}
export class ArtifactServiceError extends errorClass('ARTIFACT_SERVICE', ExitStatus.store) {}
/** GitHub refused a new artifact: the account's artifact storage quota is used up. */
export class ArtifactQuotaError extends errorClass('ARTIFACT_QUOTA_EXCEEDED', ExitStatus.store) {}

// --- interrupted (130) -----------------------------------------------------
export class InterruptedError extends errorClass('INTERRUPTED', ExitStatus.interrupted) {}

export function isHandoverError(error: unknown): error is HandoverError {
  return error instanceof HandoverError;
}

/** A one-line description of any thrown value, for messages that wrap a cause. */
export function describeCause(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === undefined ? error.message : `${error.message} (${code})`;
  }
  return String(error);
}

/**
 * Maps a Node.js file-system error to a typed store error, so disk-full and
 * permission problems say what to do instead of surfacing as a bare errno.
 */
export function storeIOError(action: string, path: string, error: unknown): HandoverError {
  if (error instanceof HandoverError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new StoreFullError(`The store ran out of space while ${action} ${path}.`, {
      hint: 'Free space on the store\'s disk or choose another store with --store; nothing partial was published.',
      cause: error,
    });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new StoreIOError(`Permission denied while ${action} ${path}.`, {
      hint: 'Make the store directory writable for this user, or choose another store with --store.',
      cause: error,
    });
  }
  return new StoreIOError(`Failed while ${action} ${path}: ${describeCause(error)}.`, { cause: error });
}
