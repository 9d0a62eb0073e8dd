import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DAY_MS,
  daysLeft,
  deferralLimitMs,
  HOUR_MS,
  isExpiring,
  pendingGraceMs,
  warnDaysFindings,
  warnWindowMs,
} from '../../src/certificate/expiry.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const at = (days: number) => new Date(T0.getTime() + days * DAY_MS);

describe('warnWindowMs', () => {
  const table: [what: string, notBefore: Date, notAfter: Date, warnDays: number | undefined, days: number][] =
    [
      ["Let's Encrypt 90 days: a sixth, 15", T0, at(90), undefined, 15],
      ['45 days: a sixth, 7.5', T0, at(45), undefined, 7.5],
      ["Let's Encrypt 6 days: a sixth, 1", T0, at(6), undefined, 1],
      [
        "Let's Encrypt 6 days (160 h): a sixth",
        T0,
        new Date(T0.getTime() + 160 * 3_600_000),
        undefined,
        160 / 24 / 6,
      ],
      ['200 days (2026 on): a sixth', T0, at(200), undefined, 200 / 6],
      ['warnDays set is a fixed override, above a sixth', T0, at(90), 30, 30],
      ['warnDays set is a fixed override, below a sixth', T0, at(6), 0.5, 0.5],
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
  // Just inside and just outside the last sixth of 6-, 45- and 90-day certificates.
  const ms = 1000;
  for (const days of [6, 45, 90]) {
    it(`a ${days}-day certificate warns in its last sixth (${days / 6} days), not before`, () => {
      const notAfter = at(days);
      const edge = notAfter.getTime() - (days / 6) * DAY_MS;
      assert.equal(isExpiring(T0, notAfter, T0), false, 'fresh');
      assert.equal(isExpiring(T0, notAfter, new Date(edge - ms)), false, 'just before the last sixth');
      assert.equal(isExpiring(T0, notAfter, new Date(edge)), true, 'at the last sixth');
      assert.equal(isExpiring(T0, notAfter, new Date(notAfter.getTime() + ms)), true, 'expired');
    });
  }
  it('warnDays overrides: 30 days warns a 90-day certificate with 30 days left', () => {
    assert.equal(isExpiring(T0, at(90), at(60), 30), true);
    assert.equal(isExpiring(T0, at(90), at(59.9), 30), false);
  });
});

describe('deferralLimitMs: a quarter of the time left, between 1 hour and 1 day', () => {
  const table: [what: string, left: number, limit: number][] = [
    ['a 6-day certificate with 80 hours left: 20 hours', 80 * HOUR_MS, 20 * HOUR_MS],
    ['a fresh 6-day certificate (144 hours): capped at a day', 6 * DAY_MS, DAY_MS],
    ['exactly 4 days left: a day', 4 * DAY_MS, DAY_MS],
    ['a 45-day certificate with 15 days left: a day', 15 * DAY_MS, DAY_MS],
    ['a 90-day certificate with 30 days left: a day', 30 * DAY_MS, DAY_MS],
    ['8 hours left: 2 hours', 8 * HOUR_MS, 2 * HOUR_MS],
    ['4 hours left: the floor, 1 hour', 4 * HOUR_MS, HOUR_MS],
    ['2 hours left: the floor, 1 hour', 2 * HOUR_MS, HOUR_MS],
    ['expired: the floor, 1 hour', -DAY_MS, HOUR_MS],
  ];
  for (const [what, left, limit] of table) {
    it(what, () => assert.equal(deferralLimitMs(new Date(T0.getTime() + left), T0), limit));
  }
  it('an invalid date: the floor', () => assert.equal(deferralLimitMs(new Date(Number.NaN), T0), HOUR_MS));
});

describe('pendingGraceMs: a hundredth of the lifetime, at least an hour', () => {
  const table: [what: string, days: number, grace: number][] = [
    ['6 days: 1.44 hours', 6, 1.44 * HOUR_MS],
    ['45 days: 10.8 hours', 45, 10.8 * HOUR_MS],
    ['90 days: 21.6 hours', 90, 21.6 * HOUR_MS],
    ['2 days: the floor, 1 hour', 2, HOUR_MS],
    ['reversed dates: the floor, 1 hour', -1, HOUR_MS],
  ];
  for (const [what, days, grace] of table) {
    it(what, () => assert.ok(Math.abs(pendingGraceMs(T0, at(days)) - grace) < 1));
  }
});

describe('warnDaysFindings: warnDays beyond a third of the shortest lifetime in use', () => {
  const lineages = [
    { lineage: 'long.example', notBefore: T0, notAfter: at(90) },
    { lineage: 'mid.example', notBefore: T0, notAfter: at(45) },
    { lineage: 'short.example', notBefore: T0, notAfter: at(6) },
  ];
  it('unset, or no certificate: nothing to say', () => {
    assert.deepEqual(warnDaysFindings(undefined, lineages), []);
    assert.deepEqual(warnDaysFindings(30, []), []);
  });
  it('within a third of 6 days (2): ok', () => {
    const [finding] = warnDaysFindings(2, lineages);
    assert.equal(finding?.ok, true);
    assert.equal(finding?.kind, 'warn-days');
  });
  it('above a third of the 6-day lineage: a problem naming it, with the fix', () => {
    const findings = warnDaysFindings(2.5, lineages);
    assert.equal(findings.length, 1);
    assert.equal(findings[0]?.ok, false);
    assert.match(
      findings[0]?.message ?? '',
      /^warnDays 2\.5 exceeds a third \(2 days\) of the shortest lifetime in use \(6 days, short\.example\)/,
    );
    assert.match(findings[0]?.fix ?? '', /remove warnDays/);
  });
  it('45 and 90 days: 15 is within a third of 45, 16 is not', () => {
    assert.equal(warnDaysFindings(15, lineages.slice(0, 2))[0]?.ok, true);
    assert.match(warnDaysFindings(16, lineages.slice(0, 2))[0]?.message ?? '', /45 days, mid\.example/);
    assert.equal(warnDaysFindings(30, lineages.slice(0, 1))[0]?.ok, true);
    assert.equal(warnDaysFindings(31, lineages.slice(0, 1))[0]?.ok, false);
  });
});
