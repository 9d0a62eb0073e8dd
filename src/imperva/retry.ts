import type { ApiError } from '../model/errors.js';
import { NetworkError, UNRESOLVED } from './errors.js';

export interface RetrySettings {
  /** Attempts per call, the first included. */
  attempts: number;
  /** The first retry waits about this long; each later one about twice as long, up to MAX_BACKOFF_MS. */
  retryDelayMs: number;
}

export const MAX_BACKOFF_MS = 60_000;

/** A throttled retry never comes sooner than this, whatever Retry-After says (zero, negative, a past date...). */
export const MIN_THROTTLED_WAIT_MS = 1000;

/**
 * How long to wait before the next attempt, or undefined when there is to be none. Pure. Only transient failures
 * are retried (docs/imperva-api.md: 429, 5xx, HTML or other non-JSON bodies, odd `res`, res 4 and 3015, resets,
 * timeouts, one v3 401); never 9411/9403/9418 (credentials), 9413 (unknown site), 2 (invalid input), 9414/9415, other 4xx.
 * A name that does not resolve gets one retry at most. A Retry-After is honoured, but never below
 * MIN_THROTTLED_WAIT_MS; otherwise exponential backoff with jitter (half fixed, half random), so that many hook runs
 * throttled together do not come back together.
 */
export function retryDelayMs(
  error: ApiError,
  attempt: number,
  settings: RetrySettings,
  random: () => number = Math.random,
): number | undefined {
  if (!error.transient) return undefined;
  // A v3 401 may be Imperva's propagation race (docs/imperva-api.md, "v3 errors"): one retry, after the base delay.
  if (error.status === 401) return attempt >= 2 ? undefined : settings.retryDelayMs;
  const throttled = isThrottled(error);
  // Throttling says "wait", not "failed": it uses up no attempt (the run's deadline still bounds it).
  if (!throttled && attempt >= settings.attempts) return undefined;
  if (error instanceof NetworkError && UNRESOLVED.has(error.network) && attempt >= 2) return undefined;
  const floor = throttled ? MIN_THROTTLED_WAIT_MS : 0;
  if (throttled && error.retryAfterSeconds !== undefined && Number.isFinite(error.retryAfterSeconds))
    return Math.max(floor, Math.round(error.retryAfterSeconds * 1000));
  const backoff = Math.min(MAX_BACKOFF_MS, settings.retryDelayMs * 2 ** (Math.min(attempt, 16) - 1));
  return Math.max(floor, Math.round(backoff / 2 + random() * (backoff / 2)));
}

export function isThrottled(error: ApiError): boolean {
  return error.status === 429;
}
