import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { onAbort } from '../../src/util/abort.js';

describe('onAbort', () => {
  it('calls back every callback still registered when the signal aborts, once', () => {
    const stop = new AbortController();
    const called: string[] = [];
    onAbort(stop.signal, () => called.push('a'));
    const takeBack = onAbort(stop.signal, () => called.push('b'));
    onAbort(stop.signal, () => called.push('c'));
    takeBack();
    stop.abort();
    stop.abort();
    assert.deepEqual(called, ['a', 'c']);
  });

  it('adds one listener to a signal however many callbacks come and go (no list of removed listeners)', () => {
    const stop = new AbortController();
    for (let index = 0; index < 1000; index += 1) onAbort(stop.signal, () => {})();
    const kept = onAbort(stop.signal, () => {});
    assert.equal(getEventListeners(stop.signal, 'abort').length, 1);
    kept();
    const other = new AbortController();
    onAbort(other.signal, () => {});
    assert.equal(getEventListeners(other.signal, 'abort').length, 1);
  });

  it('never calls back for a signal that had already aborted, as addEventListener would not', () => {
    const stop = new AbortController();
    stop.abort();
    let called = false;
    onAbort(stop.signal, () => (called = true));
    assert.equal(called, false);
  });
});
