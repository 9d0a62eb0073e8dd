import type { ApiError } from '../errors.js';

export interface RetrySettings {
  /** Attempts per call, the first included. */
  attempts: number;
  /** The first retry waits about this long; each later one about twice as long, up to MAX_BACKOFF_MS. */
  retryDelayMs: number;
}

export const MAX_BACKOFF_MS = 60_000;

/**
 * How long to wait before the next attempt, or undefined when there is to be none. Pure. Only transient failures
 * are retried (docs/imperva-api.md: 429, 5xx, HTML or other non-JSON bodies, res 4 and 3015,
 * resets, timeouts); never 9411/9403 (credentials), 9413 (unknown site), 2 (invalid input), 9414/9415, other 4xx.
 * A Retry-After is honoured as it is; otherwise exponential backoff with jitter (half fixed, half random), so that
 * many hook runs throttled together do not come back together.
 */
export function retryDelayMs(
  error: ApiError,
  attempt: number,
  settings: RetrySettings,
  random: () => number = Math.random,
): number | undefined {
  if (!error.transient) return undefined;
  // Throttling says "wait", not "failed": it uses up no attempt (the run's deadline still bounds it).
  if (!isThrottled(error) && attempt >= settings.attempts) return undefined;
  if (error.retryAfterSeconds !== undefined) return error.retryAfterSeconds * 1000;
  const backoff = Math.min(MAX_BACKOFF_MS, settings.retryDelayMs * 2 ** (Math.min(attempt, 16) - 1));
  return Math.round(backoff / 2 + random() * (backoff / 2));
}

export function isThrottled(error: ApiError): boolean {
  return error.status === 429;
}
