import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_RATE_PER_SECOND, Pacer, RateLearner } from '../../src/imperva/limiter.js';
import { mapPool } from '../../src/util/pool.js';

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

describe('RateLearner', () => {
  it('asks for no pace before the first 429, then the rate that got through in the last second', () => {
    const learner = new RateLearner();
    let now = 10_000;
    for (let i = 0; i < 12; i += 1) {
      learner.success(now);
      now += 100; // 12, 100 ms apart: the last 9 in the last second
    }
    assert.equal(learner.current(now), undefined);
    learner.throttled(now, now - 5);
    assert.equal(learner.current(now), 9);
  });

  it('counts the answers of requests under way at the first 429, even when the 429s come back first', () => {
    const learner = new RateLearner();
    const sent = 10_000;
    for (let i = 0; i < 3; i += 1) learner.throttled(sent + 2, sent);
    assert.equal(learner.current(sent + 2), MIN_RATE_PER_SECOND);
    for (let i = 0; i < 5; i += 1) learner.success(sent + 20, sent);
    assert.equal(Math.round(learner.current(sent + 20) ?? 0), 5);
  });

  it('measures only with requests sent after the earlier 429 (their answers may arrive after it)', () => {
    const learner = new RateLearner();
    learner.success(10_000, 10_000);
    learner.throttled(10_010, 10_000);
    for (let i = 0; i < 50; i += 1) learner.success(10_050, 10_001); // under way before the 429: not counted
    for (let i = 0; i < 5; i += 1) learner.success(10_500, 10_400);
    learner.throttled(12_010, 12_000);
    assert.equal(learner.current(12_010), 2); // (5 - 1) / 2 s
  });

  it('measures the rate between two 429s at least a second apart, up or down, instead of halving', () => {
    const learner = new RateLearner();
    let now = 10_000;
    learner.success(now);
    learner.throttled(now, now); // first guess: 1/s
    assert.equal(learner.current(now), 1);
    // 21 successes in the next 2 s, then a 429: (21 - 1) / 2 = 10 per second.
    for (let i = 0; i < 21; i += 1) learner.success((now += 95));
    now = 12_000;
    learner.throttled(now, now - 10);
    assert.equal(learner.current(now), 10);
    // 9 successes in 2 s more, then a 429: the best bound over the last minute is from the first 429,
    // (21 + 9 - 1) / 4 s = 7.25/s.
    for (let i = 0; i < 9; i += 1) learner.success((now += 200));
    now = 14_000;
    learner.throttled(now, now - 10);
    assert.equal(learner.current(now), 7.25);
  });

  it('takes a fifth off for each later round of 429s before it can measure, never below the floor', () => {
    const learner = new RateLearner();
    let now = 10_000;
    for (let i = 0; i < 20; i += 1) learner.success((now += 10));
    learner.throttled(now, now);
    assert.equal(learner.current(now), 20);
    now += 10;
    learner.throttled(now, now - 20); // sent before the cut: the same round
    assert.equal(learner.current(now), 20);
    learner.throttled(now, now); // sent after the cut
    assert.equal(learner.current(now), 16);
    for (let i = 0; i < 100; i += 1) learner.throttled((now += 1), now);
    assert.equal(learner.current(now), MIN_RATE_PER_SECOND);
  });

  it('creeps up while no 429 comes, faster the longer it is quiet', () => {
    const learner = new RateLearner();
    learner.success(10_000);
    learner.throttled(10_000, 10_000);
    assert.equal(learner.current(10_000), 1);
    const after2 = learner.current(12_000) ?? 0;
    const after60 = learner.current(70_000) ?? 0;
    assert.ok(after2 > 1 && after2 < 1.1, String(after2));
    assert.ok(after60 > 2, String(after60));
  });

  it('starts at a shared pace, creeping up from it while no 429 comes', () => {
    const learner = new RateLearner(undefined, { perSecond: 3, at: 10_000 });
    assert.equal(learner.current(10_000), 3);
    const after2 = learner.current(12_000) ?? 0;
    assert.ok(after2 > 3 && after2 < 3.3, String(after2));
    learner.throttled(12_000, 11_900);
    assert.ok((learner.current(12_000) ?? 0) < after2, 'a 429 cuts the shared pace');
    assert.equal(new RateLearner(undefined, { perSecond: 0.01, at: 0 }).current(0), MIN_RATE_PER_SECOND);
    assert.equal(
      new RateLearner(60, { perSecond: 3, at: 0 }).current(0),
      1,
      'ratePerMinute stays the ceiling',
    );
  });

  it('ratePerMinute paces from the start and is never exceeded', () => {
    const learner = new RateLearner(120);
    assert.equal(learner.current(0), 2);
    learner.throttled(1000, 1000);
    assert.ok((learner.current(1000) ?? 0) <= 2);
    assert.equal(learner.current(10_000_000), 2);
  });
});

describe('Pacer', () => {
  it('never lets more than `concurrency` in', async () => {
    const pacer = new Pacer({ concurrency: 3 });
    const started = await Promise.all([pacer.acquire(), pacer.acquire(), pacer.acquire()]);
    let fourth = false;
    const waiting = pacer.acquire().then(() => (fourth = true));
    await sleep(10);
    assert.equal(fourth, false);
    pacer.done({ startedAt: started[0] ?? 0, throttled: false });
    await waiting;
    assert.equal(fourth, true);
  });

  it('spaces requests evenly once paced', async () => {
    const pacer = new Pacer({ concurrency: 100, ratePerMinute: 1200 }); // 20 a second
    const starts: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const startedAt = (await pacer.acquire()) ?? 0;
      starts.push(startedAt);
      pacer.done({ startedAt, throttled: false });
    }
    for (let i = 1; i < starts.length; i += 1)
      assert.ok((starts[i] ?? 0) - (starts[i - 1] ?? 0) >= 45, `gap ${i}: ${String(starts)}`);
  });

  it('starts at the shared pace: no burst before the first 429', async () => {
    const pacer = new Pacer({ concurrency: 100, pace: { startPerSecond: 20 } });
    const starts: number[] = [];
    for (let i = 0; i < 4; i += 1) {
      const startedAt = (await pacer.acquire()) ?? 0;
      starts.push(startedAt);
      pacer.done({ startedAt, throttled: false });
    }
    for (let i = 1; i < starts.length; i += 1)
      assert.ok((starts[i] ?? 0) - (starts[i - 1] ?? 0) >= 45, `gap ${i}: ${String(starts)}`);
  });

  it('says the rate each 429 teaches', async () => {
    const learned: number[] = [];
    const pacer = new Pacer({
      concurrency: 4,
      pace: { startPerSecond: 10, onLearn: (rate) => learned.push(rate) },
    });
    const startedAt = (await pacer.acquire()) ?? 0;
    pacer.done({ startedAt, throttled: false });
    assert.deepEqual(learned, []);
    const next = (await pacer.acquire()) ?? 0;
    pacer.done({ startedAt: next, throttled: true });
    assert.equal(learned.length, 1);
    assert.ok((learned[0] ?? 0) > 0 && (learned[0] ?? 0) < 10.5, String(learned));
  });

  it('does not start a paced request whose turn cannot end by `until`', async () => {
    const pacer = new Pacer({ concurrency: 4, pace: { startPerSecond: 1 } });
    // One request a second: a turn is a second long, and only 500 ms are left.
    assert.equal(await pacer.acquire(Date.now() + 500), undefined);
    assert.notEqual(await pacer.acquire(Date.now() + 1500), undefined);
  });

  it('pauses everyone for a Retry-After over a second', async () => {
    const pacer = new Pacer({ concurrency: 4 });
    const before = Date.now();
    pacer.done({ startedAt: (await pacer.acquire()) ?? 0, throttled: true, retryAfterMs: 1200 });
    const next = (await pacer.acquire()) ?? 0;
    assert.ok(next - before >= 1190, 'the next request waited out the pause');
  });

  it('gives up waiting at `until`, and at once when aborted', async () => {
    const pacer = new Pacer({ concurrency: 1 });
    const first = (await pacer.acquire()) ?? 0;
    assert.equal(await pacer.acquire(Date.now() + 20), undefined);
    const controller = new AbortController();
    const waiting = pacer.acquire(Number.POSITIVE_INFINITY, controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(waiting, /stop/);
    pacer.done({ startedAt: first, throttled: false });
    assert.notEqual(await pacer.acquire(), undefined, 'the slot is free again');
  });
});
