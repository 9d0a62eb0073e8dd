import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/model/errors.js';
import { MAX_BACKOFF_MS, retryDelayMs } from '../../src/imperva/retry.js';

const settings = { attempts: 4, retryDelayMs: 1000 };
const transient = new ApiError('HTTP 502', { transient: true, status: 502 });
const lasting = new ApiError('res 9413', { transient: false, res: 9413 });

describe('retryDelayMs', () => {
  it('never retries a lasting failure', () => {
    assert.equal(retryDelayMs(lasting, 1, settings), undefined);
  });
  it('retries a v3 401 once, after the base delay (a propagation race), never twice', () => {
    const refused = new ApiError('v3 401', { transient: true, status: 401 });
    assert.equal(
      retryDelayMs(refused, 1, settings, () => 0),
      1000,
    );
    assert.equal(retryDelayMs(refused, 2, settings), undefined);
  });
  it('stops after the last attempt', () => {
    assert.equal(retryDelayMs(transient, 4, settings), undefined);
    assert.equal(retryDelayMs(transient, 1, { ...settings, attempts: 1 }), undefined);
  });
  it('retries throttling beyond the attempts (the deadline bounds it)', () => {
    const throttled = new ApiError('HTTP 429', { transient: true, status: 429 });
    assert.equal(
      retryDelayMs(throttled, 4, settings, () => 1),
      8000,
    );
    assert.equal(
      retryDelayMs(throttled, 9, settings, () => 0),
      30_000,
    );
  });
  it('honours Retry-After as it is', () => {
    const throttled = new ApiError('HTTP 429', { transient: true, status: 429, retryAfterSeconds: 7 });
    assert.equal(
      retryDelayMs(throttled, 1, settings, () => 0.5),
      7000,
    );
  });
  it('backs off exponentially, half of it fixed and half random', () => {
    const table: [number, number, number][] = [
      // attempt, dice, expected
      [1, 0, 500],
      [1, 1, 1000],
      [2, 0, 1000],
      [2, 1, 2000],
      [3, 0.5, 3000],
    ];
    for (const [attempt, dice, expected] of table) {
      assert.equal(
        retryDelayMs(transient, attempt, settings, () => dice),
        expected,
        `attempt ${attempt}, dice ${dice}`,
      );
    }
  });
  it('caps the backoff', () => {
    assert.equal(
      retryDelayMs(transient, 9, { attempts: 10, retryDelayMs: 10_000 }, () => 1),
      MAX_BACKOFF_MS,
    );
  });
});
