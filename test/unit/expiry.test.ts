import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DAY_MS, daysLeft, isExpiring, warnWindowMs } from '../../src/certificate/expiry.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const at = (days: number) => new Date(T0.getTime() + days * DAY_MS);

describe('warnWindowMs', () => {
  const table: [what: string, notBefore: Date, notAfter: Date, warnDays: number | undefined, days: number][] =
    [
      ["Let's Encrypt 90 days: capped at 14", T0, at(90), undefined, 14],
      [
        "Let's Encrypt 6 days (160 h): a third, about 2",
        T0,
        new Date(T0.getTime() + 160 * 3_600_000),
        undefined,
        160 / 24 / 3,
      ],
      ['45 days: capped at 14', T0, at(45), undefined, 14],
      ['30 days: 10', T0, at(30), undefined, 10],
      ['42 days: exactly 14', T0, at(42), undefined, 14],
      ['warnDays set wins, even above the cap', T0, at(90), 30, 30],
      ['warnDays 0: no warning window', T0, at(90), 0, 0],
      ['negative warnDays: 0', T0, at(90), -3, 0],
      ['notAfter before notBefore: 0', at(10), T0, undefined, 0],
      ['invalid dates: 0', new Date(Number.NaN), at(10), undefined, 0],
    ];
  for (const [what, notBefore, notAfter, warnDays, days] of table) {
    it(what, () => {
      assert.ok(Math.abs(warnWindowMs(notBefore, notAfter, warnDays) - days * DAY_MS) < 1, `${days} days`);
    });
  }
});

describe('daysLeft', () => {
  const table: [now: Date, days: number][] = [
    [T0, 90],
    [new Date(at(89).getTime() + 1), 0],
    [at(89.5), 0],
    [at(88), 2],
    [at(90), 0],
    [new Date(at(90).getTime() + 1), -1],
    [at(95), -5],
  ];
  for (const [now, days] of table) {
    it(`${now.toISOString()} → ${days}`, () => assert.equal(daysLeft(at(90), now), days));
  }
});

describe('isExpiring', () => {
  it('a 6-day certificate warns in its last third, a 90-day one in its last 14 days', () => {
    const six = new Date(T0.getTime() + 6 * DAY_MS);
    assert.equal(isExpiring(T0, six, at(3.9)), false);
    assert.equal(isExpiring(T0, six, at(4)), true);
    assert.equal(isExpiring(T0, at(90), at(75.9)), false);
    assert.equal(isExpiring(T0, at(90), at(76)), true);
    assert.equal(isExpiring(T0, at(90), at(100)), true);
    assert.equal(isExpiring(T0, at(90), at(60), 30), true);
  });
});
