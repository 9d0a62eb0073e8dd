import { ApiError } from '../model/errors.js';
import { onAbort } from '../util/abort.js';
import type { HttpAnswer } from './answer.js';
import { CREDENTIAL_RES } from './envelope.js';
import { ClientError, NetworkError, counted, detailsOf, interrupted, withoutStack } from './errors.js';
import { toApiError, type Request, type Send } from './http.js';
import { Pacer, SiteBudget, type PaceOptions } from './limiter.js';
import { isThrottled, retryDelayMs, type RetrySettings } from './retry.js';

export interface RetryNotice {
  siteId: string;
  reason: string;
  delayMs: number;
  /** Throttling (HTTP 429) uses up no attempt. */
  throttled: boolean;
  /** The attempt about to be made, and how many there may be. */
  attempts: number;
  attempt: number;
}

export interface CallOptions extends RetrySettings {
  /** Per-request timeout. */
  timeoutMs: number;
  /** The most requests in flight at once. */
  concurrency: number;
  /** When the whole run must be over (ms since the epoch): no request starts, and no wait ends, after it. */
  deadlineAt: number;
  /** Pace requests from the start, and never faster than this (config ratePerMinute). */
  ratePerMinute?: number | undefined;
  /** Start from the pace an earlier run learned, and say what this one learns (src/state/pace.ts). */
  pace?: PaceOptions | undefined;
  /**
   * The run is being killed: requests in flight are abandoned and waiting ones end at once, with a transient
   * ClientError 'INTERRUPTED'.
   */
  signal?: AbortSignal | undefined;
  onRetry?: (notice: RetryNotice) => void;
  /** For tests: the clock and the dice. */
  now?: () => number;
  random?: () => number;
}

/** Sends a request until `parse` accepts an answer, or throws the ApiError of the call. */
export type Call = <T>(request: Request, parse: (answer: HttpAnswer) => T) => Promise<T>;

/**
 * However the answers go, one site gets at most one request a second on average: a burst of PER_SITE_BURST (a
 * status check, an upload and one quick retry), then one a second.
 */
const PER_SITE_BURST = 3;
const PER_SITE_INTERVAL_MS = 1000;

/**
 * Calls to Imperva, each with retries of transient failures within the run's deadline, paced (see Pacer,
 * SiteBudget). The first answer that refuses the credentials ends every later call of the run at once. The error a
 * call throws counts the requests it sent (`attempts`).
 */
export function createCall(send: Send, options: CallOptions): Call {
  const now = options.now ?? Date.now;
  const { signal } = options;
  const pacer = new Pacer({
    concurrency: options.concurrency,
    ratePerMinute: options.ratePerMinute,
    now,
    pace: options.pace,
  });
  const budget = new SiteBudget(PER_SITE_BURST, PER_SITE_INTERVAL_MS);
  /** The first answer that refused the credentials: every later call fails at once with it. */
  let refused: ApiError | undefined;

  /** Waits until `at` (ms since the epoch); undefined when that is past the deadline; throws when interrupted. */
  async function wait(at: number, sent: number): Promise<true | undefined> {
    if (at >= options.deadlineAt) return undefined;
    const ms = at - now();
    if (ms <= 0) return true;
    await new Promise<void>((resolve, reject) => {
      let stopWatching = nothing;
      const timer = setTimeout(() => {
        stopWatching();
        resolve();
      }, ms);
      if (signal !== undefined)
        stopWatching = onAbort(signal, () => {
          clearTimeout(timer);
          reject(interrupted(sent));
        });
    });
    return true;
  }

  return async function call<T>(request: Request, parse: (answer: HttpAnswer) => T): Promise<T> {
    // `attempt` counts failures that use up attempts; throttled answers (429) do not, but are counted as tries.
    let attempt = 1;
    let sent = 0;
    let last: ApiError | undefined;
    /** Some try got an answer that was not 429 (or a failure that was not the deadline cutting it short). */
    let answered = false;
    const outOfTime = (): ClientError => deadlinePassed(last, sent, !answered);
    for (;;) {
      if (refused !== undefined) throw notTried(refused, sent);
      if (signal?.aborted === true) throw interrupted(sent);
      if ((await wait(budget.take(request.siteId, now()), sent)) === undefined) throw outOfTime();
      const startedAt = await pacer.acquire(options.deadlineAt, signal).catch(() => {
        throw interrupted(sent);
      });
      if (startedAt === undefined) throw outOfTime();
      if (refused !== undefined) {
        pacer.done({ startedAt, throttled: false });
        throw notTried(refused, sent);
      }
      sent += 1;
      let error: ApiError;
      // A try may not outlast the run: its timeout is cut to what is left before the deadline.
      const timeoutMs = Math.min(options.timeoutMs, options.deadlineAt - now());
      try {
        const answer = await send(request, timeoutMs);
        try {
          const result = parse(answer);
          pacer.done({ startedAt, throttled: false });
          return result;
        } catch (thrown) {
          error = asApiError(thrown);
        }
      } catch (thrown) {
        error = asApiError(thrown);
      }
      last = error;
      const throttled = isThrottled(error);
      const cutShort =
        timeoutMs < options.timeoutMs && error instanceof NetworkError && error.network === 'ETIMEDOUT';
      if (!throttled && !cutShort) answered = true;
      const delay =
        isRefusal(error) || error instanceof ClientError
          ? undefined
          : retryDelayMs(error, attempt, options, options.random);
      // A 429 pauses every call for its wait, whether Imperva said one (Retry-After) or our backoff chose it:
      // Imperva has not been seen sending Retry-After (docs/imperva-api.md, "Transport-level failures").
      pacer.done({ startedAt, throttled, retryAfterMs: throttled ? delay : undefined });
      if (isRefusal(error)) {
        refused ??= error;
        throw new ClientError(error.message, { ...detailsOf(error), attempts: sent }, 'CREDENTIALS');
      }
      if (error instanceof ClientError) throw counted(error, sent);
      if (delay === undefined) throw counted(error, sent);
      if (now() + delay >= options.deadlineAt) {
        throw new ClientError(
          `${error.message}; no retry: the run's deadline would pass first`,
          { ...detailsOf(error), attempts: sent, unanswered: !answered },
          'DEADLINE',
        );
      }
      if (!throttled) attempt += 1;
      options.onRetry?.({
        siteId: request.siteId,
        reason: error.message,
        delayMs: delay,
        throttled,
        attempt,
        attempts: options.attempts,
      });
      await wait(now() + delay, sent);
    }
  };
}

function deadlinePassed(last: ApiError | undefined, sent: number, unanswered: boolean): ClientError {
  const message =
    last === undefined
      ? "not tried: the run's deadline passed"
      : `${last.message}; no retry: the run's deadline passed`;
  const details = last === undefined ? { transient: true } : detailsOf(last);
  return withoutStack(() => new ClientError(message, { ...details, attempts: sent, unanswered }, 'DEADLINE'));
}

/** Imperva refused the credentials: 9403, 9411, 9418 on v1 (a v3 401 leads to v1, see v3-certificates.ts). */
function isRefusal(error: ApiError): boolean {
  if (error instanceof ClientError) return error.code === 'CREDENTIALS';
  return error.res !== undefined && CREDENTIAL_RES.has(error.res);
}

function notTried(refused: ApiError, sent: number): ClientError {
  return withoutStack(
    () =>
      new ClientError(
        `not tried: Imperva refused the credentials earlier in this run (${refused.message})`,
        { ...detailsOf(refused), transient: false, attempts: sent },
        'CREDENTIALS',
      ),
  );
}

function asApiError(thrown: unknown): ApiError {
  return thrown instanceof ApiError ? thrown : toApiError(thrown, 0);
}

function nothing(): void {}
