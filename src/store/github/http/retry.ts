import { setTimeout as sleep } from 'node:timers/promises';

/**
 * How often and how patiently a request is tried again. A parameter
 * everywhere, so tests run with millisecond back-off.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** The wait before the second attempt. */
  initialDelayMs: number;
  /** Each wait is this many times the one before. */
  multiplier: number;
  /** No wait is longer, whatever the service asks for with Retry-After. */
  maxDelayMs: number;
}

/** About 1 + 2 + 4 + 8 s of waiting over five attempts, as the service's own clients allow for. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialDelayMs: 1000, multiplier: 2, maxDelayMs: 30_000 };

/**
 * A failure worth another attempt: a 5xx or 429 answer, or a connection
 * that failed or dropped. Internal to the protocol clients, which turn the
 * last one into a typed error when attempts run out.
 */
export class TransientFailure extends Error {
  override readonly name = 'TransientFailure';
  /** The HTTP status, when the service answered. */
  readonly status: number | undefined;
  /** What the service asked for with Retry-After, in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: { status?: number | undefined; retryAfterMs?: number | undefined; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Statuses a service answers when trying again later can succeed. */
export function isTransientStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/** A connection-level error (reset, refused, timed out, DNS hiccup) rather than a bug or a refusal. */
export function isConnectionError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== undefined && TRANSIENT_CODES.has(code)) return true;
  return error instanceof Error && /socket hang up|aborted|premature close/i.test(error.message);
}

/** Parses Retry-After (seconds, or an HTTP date) into milliseconds from now. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The wait before attempt `attempt + 1` (attempt counts from 1): exponential,
 * with jitter in its upper half so clients that failed together do not retry
 * together; at least what Retry-After asked for; never above maxDelayMs.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.multiplier ** (attempt - 1));
  const jittered = base / 2 + (random() * base) / 2;
  return Math.min(policy.maxDelayMs, Math.max(jittered, retryAfterMs ?? 0));
}

export interface RetryContext {
  /** Called before each wait, for logs and tests. */
  onRetry?: ((failure: TransientFailure, attempt: number, delayMs: number) => void) | undefined;
}

/**
 * Runs `operation` until it succeeds, fails with anything but a
 * TransientFailure, or has used up the policy's attempts (then the last
 * TransientFailure is thrown, for the caller to turn into a typed error).
 */
export async function withRetries<T>(policy: RetryPolicy, operation: (attempt: number) => Promise<T>, context: RetryContext = {}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (!(error instanceof TransientFailure) || attempt >= policy.maxAttempts) throw error;
      const delay = backoffDelay(policy, attempt, error.retryAfterMs);
      context.onRetry?.(error, attempt, delay);
      await sleep(delay);
    }
  }
}
