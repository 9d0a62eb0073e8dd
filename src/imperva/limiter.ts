import { onAbort } from '../util/abort.js';

/** What the pacer needs to know about one request that is over. */
export interface Outcome {
  /** When the request was granted (what `acquire` returned). */
  startedAt: number;
  /** Imperva answered 429. */
  throttled: boolean;
  /** The 429's Retry-After, in ms, when it said one. */
  retryAfterMs?: number | undefined;
}

export interface PacerOptions {
  /** The most requests in flight at once. */
  concurrency: number;
  /** Pace from the start, and never faster: requests per minute (config ratePerMinute). */
  ratePerMinute?: number | undefined;
  now?: () => number;
  /** What earlier runs learned (src/state/pace.ts), when it is fresh. */
  pace?: PaceOptions | undefined;
}

/** A pace shared between runs: where to start, and where to say what a 429 taught. */
export interface PaceOptions {
  /** Start paced at this many requests per second (learned by an earlier run), not unpaced. */
  startPerSecond?: number | undefined;
  /** After each 429: the rate learned from it, in requests per second. */
  onLearn?: ((ratePerSecond: number) => void) | undefined;
}

/** The slowest pace the pacer learns: Imperva rejecting everything still gets one request every 2 s. */
export const MIN_RATE_PER_SECOND = 0.5;
/** Two 429s must be this far apart for the successes between them to measure the rate. */
const MIN_SPAN_MS = 1000;
/** 429s older than this no longer count (someone else sharing the key may have stopped or started). */
const WINDOW_MS = 60_000;
/** While no 429 comes, the pace grows by this fraction per second, doubling every GROWTH_DOUBLING_MS of quiet. */
const GROWTH_PER_SECOND = 0.005;
const GROWTH_DOUBLING_MS = 5000;
const MAX_GROWTH_PER_SECOND = 0.2;

/**
 * Learns the rate Imperva lets through (docs/imperva-api.md, "Transport-level failures": HTTP 429, no official
 * figure). Pure: the clock is passed in.
 *
 * - A 429 says the server's bucket was empty when it answered. Every request we start after we saw that 429
 *   reaches the server later; each of them that succeeds used a token made since. So when another 429 comes, the
 *   successes of requests started after an earlier 429, less one (a partial token), over the time between the two,
 *   is a lower bound of the server's rate — and an exact one while we keep the server busy. The rate is the best
 *   such bound over the last minute (pairs at least 1 s apart).
 * - Until such a pair exists, the rate is what got through in the last second (answers of requests that were
 *   already under way at the first 429 still count), and each later 429 of a request sent after the last cut takes
 *   a fifth off. Never below MIN_RATE_PER_SECOND.
 * - While no 429 comes the rate creeps up (0.5 %/s, doubling every 5 s of quiet), so that a low start or a raised
 *   limit is found, and the next 429 measures again.
 * - `ratePerMinute` sets the rate from the start and is never exceeded.
 */
export class RateLearner {
  /** Requests per second; undefined until the first 429 (or ratePerMinute). */
  private rate: number | undefined;
  private readonly ceiling: number;
  private lastCut = Number.NEGATIVE_INFINITY;
  private lastChange = 0;
  /** When the first 429 came, and whether a pair of 429s has measured the rate since. */
  private firstThrottled: number | undefined;
  private measuredOnce = false;
  /** Times of recent successes (for the first guess), oldest first, from `recentHead` on. */
  private recent: number[] = [];
  private recentHead = 0;
  /** 429s of the last WINDOW_MS: when, and how many requests started after it have succeeded. */
  private readonly marks: { at: number; successes: number }[] = [];

  constructor(ratePerMinute?: number, start?: { perSecond: number; at: number }) {
    this.ceiling =
      ratePerMinute !== undefined && ratePerMinute > 0
        ? Math.max(1 / 60, ratePerMinute / 60)
        : Number.POSITIVE_INFINITY;
    if (Number.isFinite(this.ceiling)) this.rate = this.ceiling;
    // A pace an earlier run learned: start there, creeping up while no 429 comes, as after a 429 of our own.
    if (start !== undefined && start.perSecond > 0) {
      this.rate = Math.min(this.ceiling, Math.max(MIN_RATE_PER_SECOND, start.perSecond));
      this.lastChange = start.at;
    }
  }

  /** Requests per second at `now`; undefined while nothing asks to pace. */
  current(now: number): number | undefined {
    const rate = this.rate;
    if (rate === undefined || rate >= this.ceiling) return rate === undefined ? undefined : this.ceiling;
    const quiet = now - this.lastChange;
    if (quiet <= 0) return rate;
    // A growth rate that doubles every GROWTH_DOUBLING_MS, capped, applied over the quiet time.
    const perSecond = Math.min(MAX_GROWTH_PER_SECOND, GROWTH_PER_SECOND * 2 ** (quiet / GROWTH_DOUBLING_MS));
    return Math.min(this.ceiling, rate * (1 + perSecond * (quiet / 1000)));
  }

  /** A request sent at `startedAt` got an answer at `now` that was not a 429 (the server spent a token on it). */
  success(now: number, startedAt: number = now): void {
    for (let index = this.marks.length - 1; index >= 0; index -= 1) {
      const mark = this.marks[index] as { at: number; successes: number };
      if (mark.at >= startedAt) break;
      mark.successes += 1;
    }
    if (this.measuredOnce) return;
    this.remember(now);
    // Answers of requests under way at the first 429 show what the server let through before it.
    if (this.firstThrottled !== undefined && startedAt <= this.firstThrottled && this.rate !== undefined)
      this.rate = Math.min(this.ceiling, Math.max(this.rate, this.recentCount(now)));
  }

  /** A request sent at `startedAt` was answered 429 at `now`. */
  throttled(now: number, startedAt: number): void {
    const current = this.current(now);
    while (this.marks.length > 0 && now - (this.marks[0]?.at ?? now) > WINDOW_MS) this.marks.shift();
    let measured: number | undefined;
    for (const mark of this.marks) {
      const span = now - mark.at;
      if (span < MIN_SPAN_MS) break;
      const rate = (mark.successes - 1) / (span / 1000);
      if (measured === undefined || rate > measured) measured = rate;
    }
    if (this.marks.length >= 256) this.marks.shift();
    this.marks.push({ at: now, successes: 0 });
    let next: number;
    if (measured !== undefined && measured > 0) {
      next = measured;
      this.measuredOnce = true;
    } else if (current === undefined) {
      this.firstThrottled = now;
      next = this.recentCount(now);
    } else if (startedAt > this.lastCut) next = current * 0.8;
    else {
      // The same round as the last cut: no growth meanwhile, no further cut.
      if (current < (this.rate ?? current)) this.rate = current;
      this.lastChange = now;
      return;
    }
    this.rate = Math.min(this.ceiling, Math.max(MIN_RATE_PER_SECOND, next));
    this.lastCut = now;
    this.lastChange = now;
  }

  private remember(now: number): void {
    this.recent.push(now);
    while (this.recentHead < this.recent.length && (this.recent[this.recentHead] ?? now) <= now - 1000)
      this.recentHead += 1;
    if (this.recentHead > 1024) {
      this.recent = this.recent.slice(this.recentHead);
      this.recentHead = 0;
    }
  }

  private recentCount(now: number): number {
    let count = 0;
    for (let index = this.recentHead; index < this.recent.length; index += 1)
      if ((this.recent[index] ?? 0) > now - 1000) count += 1;
    return count;
  }
}

/**
 * Bounds the requests in flight to Imperva and paces them to the rate RateLearner learns: until the first 429
 * nothing is paced (unless `ratePerMinute` or a shared pace says otherwise); from then on requests are spaced evenly
 * instead of being halved and let loose again. A Retry-After longer than one second pauses every request until it
 * has passed. A paced turn is a slot of one interval: a request whose slot would not end by its `until` is not
 * sent (the pace cannot fit it; a request sent at the last instant would only be cut short by the deadline).
 */
export class Pacer {
  private inFlight = 0;
  /** The earliest time the next request may start (paced), and the end of a pause. */
  private nextAt = 0;
  private pausedUntil = 0;
  private readonly learner: RateLearner;
  private readonly waiting: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private readonly now: () => number;
  /** 429s seen, and requests granted: for the run's summary and the benchmark. */
  throttledCount = 0;
  granted = 0;

  constructor(private readonly options: PacerOptions) {
    this.now = options.now ?? Date.now;
    const start = options.pace?.startPerSecond;
    this.learner = new RateLearner(
      options.ratePerMinute,
      start === undefined ? undefined : { perSecond: start, at: this.now() },
    );
  }

  /** Requests per minute it paces at now; undefined while not paced. */
  get ratePerMinute(): number | undefined {
    const rate = this.learner.current(this.now());
    return rate === undefined ? undefined : rate * 60;
  }

  /**
   * Waits for its turn; resolves with the time it was granted (hand it back to `done`), or with undefined when
   * `until` passed first. Rejects with `signal`'s reason when it is aborted.
   */
  acquire(until = Number.POSITIVE_INFINITY, signal?: AbortSignal): Promise<number | undefined> {
    return new Promise<number | undefined>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(signal.reason as Error);
        return;
      }
      const waiter: Waiter = { resolve, until, stopWatching: undefined };
      if (signal !== undefined) {
        // onAbort, not addEventListener: see util/abort.ts.
        waiter.stopWatching = onAbort(signal, () => {
          const index = this.waiting.indexOf(waiter);
          if (index >= 0) this.waiting.splice(index, 1);
          reject(signal.reason as Error);
          this.pump();
        });
      }
      this.waiting.push(waiter);
      this.pump();
    });
  }

  /** A request granted by `acquire` is over. */
  done(outcome: Outcome): void {
    this.inFlight -= 1;
    const now = this.now();
    if (!outcome.throttled) this.learner.success(now, outcome.startedAt);
    else {
      this.throttledCount += 1;
      this.learner.throttled(now, outcome.startedAt);
      const learned = this.learner.current(now);
      if (learned !== undefined) this.options.pace?.onLearn?.(learned);
      const retryAfter = outcome.retryAfterMs ?? 0;
      if (retryAfter > 1000) this.pausedUntil = Math.max(this.pausedUntil, now + retryAfter);
    }
    this.pump();
  }

  private readyAt(): number {
    return Math.max(this.pausedUntil, this.learner.current(this.now()) === undefined ? 0 : this.nextAt);
  }

  private pump(): void {
    const now = this.now();
    for (let index = 0; index < this.waiting.length;) {
      const waiter = this.waiting[index] as Waiter;
      if (waiter.until <= now) {
        this.waiting.splice(index, 1);
        this.settle(waiter, undefined);
      } else index += 1;
    }
    while (this.waiting.length > 0 && this.inFlight < this.options.concurrency && this.readyAt() <= now) {
      const waiter = this.waiting.shift() as Waiter;
      const rate = this.learner.current(now);
      if (rate !== undefined && now + 1000 / rate > waiter.until) {
        this.settle(waiter, undefined);
        continue;
      }
      this.inFlight += 1;
      this.granted += 1;
      if (rate !== undefined) this.nextAt = Math.max(this.nextAt, now) + 1000 / rate;
      this.settle(waiter, now);
    }
    this.schedule(now);
  }

  private settle(waiter: Waiter, value: number | undefined): void {
    waiter.stopWatching?.();
    waiter.resolve(value);
  }

  /** One timer for the next moment something can happen: a turn, or a waiter's `until`. */
  private schedule(now: number): void {
    let at = Number.POSITIVE_INFINITY;
    if (this.waiting.length > 0 && this.inFlight < this.options.concurrency) at = this.readyAt();
    for (const waiter of this.waiting) at = Math.min(at, waiter.until);
    if (at === this.timerAt) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = at;
    if (!Number.isFinite(at)) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        this.pump();
      },
      Math.max(1, at - now),
    );
  }
}

interface Waiter {
  resolve: (value: number | undefined) => void;
  until: number;
  stopWatching: (() => void) | undefined;
}

/**
 * Per site, a token bucket of `burst` requests refilled one per `intervalMs`: `take` reserves the next request and
 * says when it may start.
 */
export class SiteBudget {
  private readonly sites = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly burst: number,
    private readonly intervalMs: number,
  ) {}

  take(siteId: string, now: number): number {
    const site = this.sites.get(siteId);
    const tokens =
      site === undefined ? this.burst : Math.min(this.burst, site.tokens + (now - site.at) / this.intervalMs);
    if (site === undefined) this.sites.set(siteId, { tokens: tokens - 1, at: now });
    else {
      site.tokens = tokens - 1;
      site.at = now;
    }
    return tokens >= 1 ? now : now + (1 - tokens) * this.intervalMs;
  }
}
