import { InterruptedError } from '../errors.ts';

/** How long cleanup after an interrupt may take before the process ends anyway. */
const GRACE_MS = 5_000;

export interface Interrupt {
  /** Aborted on the first SIGINT or SIGTERM. */
  signal: AbortSignal;
  /** Stops listening for the signals. */
  dispose(): void;
}

/**
 * The one interrupt path of the CLI and the actions. GitHub cancels a job
 * with SIGINT, then SIGTERM; a terminal sends SIGINT. The first signal
 * aborts `signal`: the work in flight stops and removes what it made
 * (helper images, partial images, temporary files), and the entry reports
 * the interruption. A second signal, or cleanup that outlasts the grace
 * period, ends the process at once with status 130.
 */
export function interruptOnSignals(exit: (status: number) => void = (status) => process.exit(status), graceMs = GRACE_MS): Interrupt {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      exit(130);
      return;
    }
    controller.abort(new Error(`interrupted by ${name}`));
    setTimeout(() => exit(130), graceMs).unref();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/**
 * Whatever interrupted work threw (an AbortError, a request torn down, a
 * stream closed early) is reported as the interruption it is; other errors
 * pass through.
 */
export function asInterruption(signal: AbortSignal, error: unknown): unknown {
  if (!signal.aborted || error instanceof InterruptedError) return error;
  const reason: unknown = signal.reason;
  const why = reason instanceof Error ? reason.message : 'interrupted';
  return new InterruptedError(`Stopped: ${why.replace(/\.$/, '')}.`, {
    hint: 'Nothing partial was published or tagged, and helper images were removed; run it again.',
    cause: error,
  });
}
