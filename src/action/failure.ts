import { describeCause, ExitStatus, isHandoverError } from '../errors.ts';

export interface Failure {
  /** What core.setFailed shows: the CLI's message, then its hint. */
  message: string;
  exitStatus: number;
}

/** Describes any thrown value as the CLI would (message, hint, code), for core.setFailed. */
export function describeFailure(error: unknown): Failure {
  if (isHandoverError(error)) {
    const hint = error.hint === undefined ? '' : `\n${error.hint}`;
    return { message: `[${error.code}] ${error.message}${hint}`, exitStatus: error.exitStatus };
  }
  return {
    message: `internal error: ${describeCause(error)}\nThis is a bug in handover; please report it with the log above.`,
    exitStatus: ExitStatus.internal,
  };
}
