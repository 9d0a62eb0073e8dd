import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expiryWarning, spanText } from '../../src/engine/plan.js';
import { explicitTargets, planTargets } from '../../src/model/want.js';

const sites = new Map<string, string[]>([
  ['example.com', ['1']],
  ['www.example.com', ['1', '2']],
  ['*.example.org', ['3']],
  ['example.org', ['4']],
]);

describe('planTargets', () => {
  const cases: [string, string[], { siteId: string; names: string[] }[]][] = [
    ['one name, one site', ['example.com'], [{ siteId: '1', names: ['example.com'] }]],
    [
      'each site once, however many names point at it',
      ['example.com', 'www.example.com'],
      [
        { siteId: '1', names: ['example.com', 'www.example.com'] },
        { siteId: '2', names: ['www.example.com'] },
      ],
    ],
    [
      'a wildcard key matches the same literal wildcard',
      ['*.example.org'],
      [{ siteId: '3', names: ['*.example.org'] }],
    ],
    ['a wildcard key does not match a name under it', ['a.example.org'], []],
    ['a plain key does not match a wildcard on the certificate', ['*.example.com'], []],
    ['names the map does not know', ['other.net'], []],
    ['no names', [], []],
    [
      'in the order the certificate lists its names',
      ['example.org', '*.example.org'],
      [
        { siteId: '4', names: ['example.org'] },
        { siteId: '3', names: ['*.example.org'] },
      ],
    ],
  ];
  for (const [title, names, expected] of cases) {
    it(title, () => assert.deepEqual(planTargets(names, sites), expected));
  }
});

describe('explicitTargets', () => {
  it('replaces the map with the given sites, each once', () => {
    assert.deepEqual(explicitTargets(['9', '8', '9'], ['example.com']), [
      { siteId: '9', names: ['example.com'] },
      { siteId: '8', names: ['example.com'] },
    ]);
  });
});

describe('the expiry warning says hours under 2 days, days otherwise', () => {
  const HOUR = 3_600_000;
  const DAY = 24 * HOUR;
  it('spanText', () => {
    for (const [ms, text] of [
      [-HOUR, 'less than an hour'],
      [59 * 60_000, 'less than an hour'],
      [HOUR, '1 hour'],
      [2 * HOUR - 1, '1 hour'],
      [2 * HOUR, '2 hours'],
      [DAY, '24 hours'],
      [2 * DAY - 1, '47 hours'],
      [2 * DAY, '2 days'],
      [15.9 * DAY, '15 days'],
    ] as const)
      assert.equal(spanText(ms), text, `${ms} ms`);
  });
  it('a 6-day certificate under an injected clock: 20 hours left, a 24-hour window; none with 36 hours left', () => {
    const notBefore = new Date('2026-03-01T00:00:00Z');
    const notAfter = new Date(notBefore.getTime() + 6 * DAY);
    const at = (left: number) => new Date(notAfter.getTime() - left);
    assert.equal(
      expiryWarning('/le/live/a/fullchain.pem', notBefore, notAfter, at(20 * HOUR)),
      'certificate /le/live/a/fullchain.pem expires 2026-03-07T00:00:00.000Z, in 20 hours: within the warning ' +
        'window (24 hours); is renewal working?',
    );
    assert.equal(expiryWarning('f', notBefore, notAfter, at(36 * HOUR)), undefined);
    assert.match(
      expiryWarning('f', notBefore, notAfter, at(36 * HOUR), 2) ?? '',
      /in 36 hours: .*\(2 days\)/,
    );
  });
});
