import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  judgeEdge,
  nameCovers,
  namesCover,
  normalizeFingerprint,
  type EdgeState,
} from '../../src/edge/judge.js';
import type { ProbeCertificate } from '../../src/edge/probe.js';

const LOCAL_SHA = 'ab'.repeat(32);
const OTHER_SHA = 'cd'.repeat(32);
const LOCAL_NOT_AFTER = new Date('2026-06-01T00:00:00Z');
const EARLIER = new Date('2026-04-01T00:00:00Z');
const LATER = new Date('2026-09-01T00:00:00Z');

function served(leafSha256: string, names: string[], notAfter: Date): ProbeCertificate {
  return {
    leafSha256,
    names,
    notAfter,
    notBefore: new Date(notAfter.getTime() - 90 * 86_400_000),
    keyType: 'ECC',
    issuer: 'CN=test',
    serial: '01',
  };
}

describe('judgeEdge', () => {
  const cases: {
    what: string;
    name: string;
    probe: Parameters<typeof judgeEdge>[0]['probe'];
    state: EdgeState;
  }[] = [
    {
      what: 'the local leaf',
      name: 'www.example.com',
      probe: served(LOCAL_SHA, ['www.example.com'], LOCAL_NOT_AFTER),
      state: 'served',
    },
    {
      what: 'the local leaf, fingerprint with colons and uppercase',
      name: 'www.example.com',
      probe: served(LOCAL_SHA.toUpperCase().match(/../g)?.join(':') ?? '', [], LOCAL_NOT_AFTER),
      state: 'served',
    },
    {
      what: 'the local leaf even if its names would not cover (the leaf is the point)',
      name: 'a.example.com',
      probe: served(LOCAL_SHA, ['b.example.com'], LOCAL_NOT_AFTER),
      state: 'served',
    },
    {
      what: 'an older certificate for the name',
      name: 'www.example.com',
      probe: served(OTHER_SHA, ['example.com', 'www.example.com'], EARLIER),
      state: 'stale',
    },
    {
      what: 'an older wildcard certificate covering the name',
      name: 'www.example.com',
      probe: served(OTHER_SHA, ['*.example.com'], EARLIER),
      state: 'stale',
    },
    {
      what: "an older certificate for the site's wildcard name",
      name: '*.example.com',
      probe: served(OTHER_SHA, ['*.example.com', 'example.com'], EARLIER),
      state: 'stale',
    },
    {
      what: 'an older certificate, names compared without case or trailing dot',
      name: 'WWW.Example.COM.',
      probe: served(OTHER_SHA, ['www.example.com'], EARLIER),
      state: 'stale',
    },
    {
      what: 'an older certificate for other names',
      name: 'www.example.com',
      probe: served(OTHER_SHA, ['*.incapsula.test'], EARLIER),
      state: 'wrong',
    },
    {
      what: 'a wildcard does not cover the bare domain',
      name: 'example.com',
      probe: served(OTHER_SHA, ['*.example.com'], EARLIER),
      state: 'wrong',
    },
    {
      what: 'a wildcard does not cover two labels',
      name: 'a.b.example.com',
      probe: served(OTHER_SHA, ['*.example.com'], EARLIER),
      state: 'wrong',
    },
    {
      what: 'a wildcard site is not covered by one of its names',
      name: '*.example.com',
      probe: served(OTHER_SHA, ['www.example.com'], EARLIER),
      state: 'wrong',
    },
    {
      what: 'a later certificate for the name, not ours',
      name: 'www.example.com',
      probe: served(OTHER_SHA, ['www.example.com'], LATER),
      state: 'wrong',
    },
    {
      what: 'another certificate expiring at the same second',
      name: 'www.example.com',
      probe: served(OTHER_SHA, ['www.example.com'], LOCAL_NOT_AFTER),
      state: 'wrong',
    },
    {
      what: 'a certificate without names',
      name: 'www.example.com',
      probe: served(OTHER_SHA, [], EARLIER),
      state: 'wrong',
    },
    {
      what: 'a failed probe',
      name: 'www.example.com',
      probe: { error: 'connection refused by 127.0.0.1:1' },
      state: 'unreachable',
    },
  ];
  for (const { what, name, probe, state } of cases) {
    it(`${state}: ${what}`, () => {
      const verdict = judgeEdge({
        name,
        local: { fingerprint: LOCAL_SHA, notAfter: LOCAL_NOT_AFTER },
        probe,
      });
      assert.equal(verdict.state, state, verdict.detail);
      assert.ok(verdict.detail.length > 0 && !verdict.detail.includes('\n'));
    });
  }

  it('details say what was seen', () => {
    const local = { fingerprint: LOCAL_SHA, notAfter: LOCAL_NOT_AFTER };
    assert.equal(
      judgeEdge({ name: 'www.example.com', local, probe: served(OTHER_SHA, ['www.example.com'], EARLIER) })
        .detail,
      'serves an older certificate (expires 2026-04-01T00:00:00.000Z, the local one 2026-06-01T00:00:00.000Z)',
    );
    assert.equal(
      judgeEdge({ name: 'www.example.com', local, probe: served(OTHER_SHA, ['*.incapsula.test'], EARLIER) })
        .detail,
      'serves a certificate for *.incapsula.test, which does not cover www.example.com',
    );
    assert.equal(judgeEdge({ name: 'www.example.com', local, probe: { error: 'boom' } }).detail, 'boom');
  });

  it("wrong: this host's own leaf served for a name its names (as this host reads them) do not cover", () => {
    // Another lineage of this host's, for the same site and key type: Imperva keeps one, the other name gets it.
    const local = { fingerprint: LOCAL_SHA, notAfter: LOCAL_NOT_AFTER, names: ['b.example.com'] };
    const probe = served(LOCAL_SHA, ['b.example.com'], LOCAL_NOT_AFTER);
    const verdict = judgeEdge({ name: 'a.example.com', local, probe });
    assert.equal(verdict.state, 'wrong');
    assert.equal(
      verdict.detail,
      "serves this host's certificate for b.example.com, which does not cover a.example.com",
    );
    assert.equal(judgeEdge({ name: 'B.Example.com.', local, probe }).state, 'served');
    // Names as this host reads them decide, not what the probe could parse.
    const unparsed = served(LOCAL_SHA, [], LOCAL_NOT_AFTER);
    assert.equal(judgeEdge({ name: 'b.example.com', local, probe: unparsed }).state, 'served');
  });
});

describe('nameCovers', () => {
  const table: [pattern: string, name: string, covers: boolean][] = [
    ['example.com', 'example.com', true],
    ['Example.COM', 'example.com.', true],
    ['*.example.com', 'www.example.com', true],
    ['*.example.com', 'WWW.EXAMPLE.COM', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'a.b.example.com', false],
    ['*.example.com', '.example.com', false],
    ['*.example.com', '*.example.com', true],
    ['www.example.com', '*.example.com', false],
    ['*.b.example.com', 'a.b.example.com', true],
    ['*.com', 'example.com', false],
    ['w*.example.com', 'www.example.com', false],
    ['*.xn--bcher-kva.example', 'www.xn--bcher-kva.example', true],
    ['*.bücher.example', 'www.xn--bcher-kva.example', true],
    ['', 'example.com', false],
    ['example.com', 'not a name', false],
  ];
  for (const [pattern, name, covers] of table) {
    it(`${pattern || '(empty)'} ${covers ? 'covers' : 'does not cover'} ${name}`, () => {
      assert.equal(nameCovers(pattern, name), covers);
    });
  }

  it('namesCover: any of the names', () => {
    assert.equal(namesCover(['a.example.com', '*.example.org'], 'x.example.org'), true);
    assert.equal(namesCover(['a.example.com'], 'x.example.org'), false);
    assert.equal(namesCover([], 'x.example.org'), false);
  });

  it('normalizeFingerprint drops colons and case', () => {
    assert.equal(normalizeFingerprint('AB:CD:0e'), 'abcd0e');
  });
});
