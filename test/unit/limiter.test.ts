import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AdaptiveLimiter, mapPool } from '../../src/imperva/limiter.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('mapPool', () => {
  it('keeps at most `concurrency` at work, returns results in order, and settles in order', async () => {
    let inside = 0;
    let most = 0;
    const settled: number[] = [];
    const delays = [30, 5, 20, 1, 10, 2, 25, 3];
    const results = await mapPool(
      delays,
      3,
      async (delay, index) => {
        inside += 1;
        most = Math.max(most, inside);
        await sleep(delay);
        inside -= 1;
        return index * 10;
      },
      (_result, index) => settled.push(index),
    );
    assert.equal(most, 3);
    assert.deepEqual(results, [0, 10, 20, 30, 40, 50, 60, 70]);
    assert.deepEqual(settled, [0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('handles nothing to do', async () => {
    assert.deepEqual(await mapPool([], 8, async () => 1), []);
  });
});

describe('AdaptiveLimiter', () => {
  it('starts at the bound and never lets more in', async () => {
    const limiter = new AdaptiveLimiter(3);
    const started = await Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire()]);
    let fourth = false;
    const waiting = limiter.acquire().then(() => (fourth = true));
    await sleep(10);
    assert.equal(fourth, false);
    limiter.done(started[0] ?? 0);
    await waiting;
    assert.equal(fourth, true);
  });

  it('halves once for a round of throttled requests, not once per request', async () => {
    let now = 1000;
    const limiter = new AdaptiveLimiter(8, () => now);
    const round = await Promise.all(Array.from({ length: 8 }, () => limiter.acquire()));
    for (const startedAt of round) limiter.done(startedAt, 0);
    assert.equal(limiter.current, 4);
    now += 1;
    // A request that started after the cut and is throttled again cuts again.
    const next = await limiter.acquire();
    limiter.done(next, 0);
    assert.equal(limiter.current, 2);
  });

  it('pauses everyone until Retry-After has passed', async () => {
    const limiter = new AdaptiveLimiter(4);
    limiter.done(await limiter.acquire(), 150);
    const before = Date.now();
    await limiter.acquire();
    assert.ok(Date.now() - before >= 140, 'the next request waited out the pause');
  });

  it('grows back by about one per round of successes, up to the bound', async () => {
    let now = 1000;
    const limiter = new AdaptiveLimiter(4, () => now);
    limiter.done(await limiter.acquire(), 0);
    now += 1;
    limiter.done(await limiter.acquire(), 0);
    assert.equal(limiter.current, 1);
    for (let i = 0; i < 2; i += 1) limiter.done(await limiter.acquire());
    assert.equal(limiter.current, 2);
    for (let i = 0; i < 50; i += 1) limiter.done(await limiter.acquire());
    assert.equal(limiter.current, 4);
  });
});
