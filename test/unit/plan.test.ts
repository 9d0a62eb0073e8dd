import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
