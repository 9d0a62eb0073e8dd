/**
 * Bounds the requests in flight to Imperva and adapts to its rate limit: additive increase, multiplicative
 * decrease. A throttled answer (HTTP 429) halves the limit — once per round of requests, not once per request of
 * the round that hit the limit — and pauses every new request until its Retry-After has passed, so that a fan-out
 * to hundreds of sites slows to the limit's pace instead of storming it. Each success adds 1/limit, about one more
 * request in flight per round, up to the configured bound.
 */
export class AdaptiveLimiter {
  private limit: number;
  private inFlight = 0;
  private pausedUntil = 0;
  private lastDecrease = Number.NEGATIVE_INFINITY;
  private readonly waiting: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly max: number,
    private readonly now: () => number = Date.now,
  ) {
    this.limit = max;
  }

  /** How many requests may be in flight now. */
  get current(): number {
    return Math.max(1, Math.floor(this.limit));
  }

  /** Waits for a slot; returns when the request started, to be handed back to `done`. */
  async acquire(): Promise<number> {
    for (;;) {
      const now = this.now();
      if (now >= this.pausedUntil && this.inFlight < this.current) {
        this.inFlight += 1;
        return now;
      }
      await new Promise<void>((resolve) => {
        this.waiting.push(resolve);
        this.wakeAfterPause();
      });
    }
  }

  /** The request that started at `startedAt` is over; `throttledForMs` when Imperva answered 429. */
  done(startedAt: number, throttledForMs?: number): void {
    this.inFlight -= 1;
    if (throttledForMs === undefined) {
      this.limit = Math.min(this.max, this.limit + 1 / this.limit);
    } else {
      // Requests already under way when the limit was last cut were part of the round that caused it.
      if (startedAt > this.lastDecrease) {
        this.limit = Math.max(1, this.limit / 2);
        this.lastDecrease = this.now();
      }
      this.pausedUntil = Math.max(this.pausedUntil, this.now() + throttledForMs);
    }
    this.wake();
  }

  private wake(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }

  private wakeAfterPause(): void {
    const wait = this.pausedUntil - this.now();
    if (wait <= 0 || this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.wake();
    }, wait);
  }
}

/**
 * Runs `fn` over `items` with at most `concurrency` at once; results in the items' order. `settled` is called with
 * each index as soon as it and every index before it are done, so that output can follow the plan's order while
 * the work runs out of order.
 */
export async function mapPool<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
  settled: (result: R, index: number) => void = () => {},
): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  const finished: boolean[] = new Array<boolean>(items.length).fill(false);
  let next = 0;
  let flushed = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next;
      next += 1;
      results[index] = await fn(items[index] as T, index);
      finished[index] = true;
      while (flushed < items.length && finished[flushed]) {
        settled(results[flushed] as R, flushed);
        flushed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return results;
}
