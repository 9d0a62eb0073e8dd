/** The deadline is the deadline: the uploads end a reserve before it, for onFailure (src/config/deadline.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deadlinesOf } from '../../src/config/deadline.js';

describe('deadlinesOf', () => {
  const start = 1_000_000;
  const cases: [string, number, number][] = [
    // [what, the run's deadline, the reserve kept from the uploads]
    ["the hook (100 s): a fifth, inside lego's 2-minute kill", 100_000, 20_000],
    ['a 1 s run: a fifth', 1_000, 200],
    ['push and sync (300 s): a fifth is 60 s', 300_000, 60_000],
    ['a day: never more than 60 s', 86_400_000, 60_000],
  ];
  for (const [what, deadlineMs, reserveMs] of cases) {
    it(what, () => {
      assert.deepEqual(deadlinesOf(start, deadlineMs), {
        uploadsEndAt: start + deadlineMs - reserveMs,
        endsAt: start + deadlineMs,
      });
    });
  }
});
