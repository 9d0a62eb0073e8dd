import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  coverageGaps,
  covers,
  gapLine,
  ownNameOf,
  siteNames,
  uncoveredNames,
  uncoveredSite,
  withPeers,
} from '../../src/engine/coverage.js';
import type { CertificateChain, KeyType } from '../../src/model/certificate.js';
import { planTargets, wantOf, type SiteMap, type Want } from '../../src/model/want.js';

/** The wants one certificate makes through the map, as the live folder reads them. */
function lineage(
  sites: SiteMap,
  name: string,
  names: string[],
  keyType: KeyType = 'ECC',
  notAfter = '2030-01-01T00:00:00Z',
  live = true,
): Want[] {
  const dir = `/le/live/${name}`;
  const chain = { names, keyType, notAfter: new Date(notAfter), fingerprint: name } as CertificateChain;
  const files = live
    ? { cert: `${dir}/fullchain.pem`, key: `${dir}/privkey.pem`, lineage: dir }
    : { cert: `/lego/${name}.crt`, key: `/lego/${name}.key` };
  return planTargets(names, sites).map((target) => wantOf(target, chain, files, 'live', false));
}

describe('covers: TLS name matching', () => {
  const cases: [string, string, boolean][] = [
    ['a.example', 'a.example', true],
    ['a.example', 'www.a.example', false],
    ['*.a.example', 'www.a.example', true],
    ['*.a.example', 'a.example', false],
    ['*.a.example', 'x.y.a.example', false],
    ['*.a.example', '*.a.example', true],
    ['*.a.example', '*.b.a.example', false],
    ['www.a.example', '*.a.example', false],
    ['*.a.example', 'www.b.example', false],
    ['*.example', 'a.example', true],
  ];
  for (const [certName, name, expected] of cases) {
    it(`${certName} ${expected ? 'covers' : 'does not cover'} ${name}`, () =>
      assert.equal(covers(certName, name), expected));
  }
  it('uncoveredNames keeps the order of the names', () =>
    assert.deepEqual(uncoveredNames(['*.a.example'], ['a.example', 'w.a.example', 'x.y.a.example']), [
      'a.example',
      'x.y.a.example',
    ]));
});

describe('siteNames', () => {
  it("adds the site's own name at Imperva, normalized, when the map does not hold it", () => {
    assert.deepEqual(siteNames(['www.a.example'], 'A.Example'), ['www.a.example', 'a.example']);
    assert.deepEqual(siteNames(['a.example'], 'a.example'), ['a.example']);
    assert.deepEqual(siteNames(['a.example'], undefined), ['a.example']);
    assert.deepEqual(siteNames(['a.example'], 'not a name'), ['a.example']);
  });
});

describe('coverageGaps', () => {
  const scalar: SiteMap = new Map([
    ['a.example', ['1']],
    ['www.a.example', ['1']],
    ['b.example', ['2']],
  ]);

  it('two lineages for one site: one gap naming both', () => {
    const local = [
      ...lineage(scalar, 'a.example', ['a.example']),
      ...lineage(scalar, 'www.a.example', ['www.a.example']),
      ...lineage(scalar, 'b.example', ['b.example']),
    ];
    const gaps = coverageGaps(local, scalar);
    assert.equal(gaps.length, 1);
    const [gap] = gaps;
    assert.equal(gap?.siteId, '1');
    assert.equal(gap.keyType, 'ECC');
    assert.deepEqual(gap.names, ['a.example', 'www.a.example']);
    assert.deepEqual(
      gap.certificates.map((one) => one.files.lineage),
      ['/le/live/a.example', '/le/live/www.a.example'],
    );
    assert.equal(
      gapLine(gap),
      'site 1 (a.example, www.a.example): no ECDSA certificate on this host covers all of its names, and Imperva ' +
        'keeps one per site and key type (/le/live/a.example has a.example; /le/live/www.a.example has www.a.example); ' +
        'fix: certbot certonly --cert-name a.example -d a.example -d www.a.example --expand, or point ' +
        'sites["www.a.example"] at another site',
    );
  });

  it('one lineage that covers every name is enough, whatever else there is', () => {
    const local = [
      ...lineage(scalar, 'a.example', ['a.example']),
      ...lineage(scalar, 'a.example-0001', ['a.example', 'www.a.example']),
    ];
    assert.deepEqual(coverageGaps(local, scalar), []);
  });

  it('an RSA and an ECDSA lineage: a gap for each key type', () => {
    const local = [
      ...lineage(scalar, 'a.example', ['a.example'], 'RSA'),
      ...lineage(scalar, 'www.a.example', ['www.a.example'], 'ECC'),
    ];
    assert.deepEqual(
      coverageGaps(local, scalar).map((gap) => [gap.keyType, gap.certificates.map((one) => one.chain.names)]),
      [
        ['RSA', [['a.example']]],
        ['ECC', [['www.a.example']]],
      ],
    );
  });

  it('a wildcard covers one label', () => {
    const map: SiteMap = new Map([
      ['a.example', ['1']],
      ['www.a.example', ['1']],
    ]);
    assert.deepEqual(coverageGaps(lineage(map, 'a.example', ['a.example', '*.a.example']), map), []);
    const deeper: SiteMap = new Map([
      ['a.example', ['1']],
      ['x.y.a.example', ['1']],
    ]);
    assert.equal(coverageGaps(lineage(deeper, 'a.example', ['a.example', '*.a.example']), deeper).length, 1);
  });

  it("the site's own name counts where it is known", () => {
    const map: SiteMap = new Map([['www.a.example', ['1']]]);
    const local = lineage(map, 'www.a.example', ['www.a.example']);
    assert.deepEqual(coverageGaps(local, map), []);
    const [gap] = coverageGaps(local, map, new Map([['1', 'a.example']]));
    assert.deepEqual(gap?.names, ['www.a.example', 'a.example']);
    // The site's own name is no line of the map: only the certificate can change.
    assert.match(
      gapLine(gap),
      /fix: certbot certonly --cert-name www\.a\.example -d www\.a\.example -d a\.example --expand$/,
    );
  });

  it('a certificate outside a Certbot lineage gets the names to issue it for', () => {
    const local = [...lineage(scalar, 'a.example', ['a.example'], 'ECC', '2030-01-01T00:00:00Z', false)];
    assert.match(
      gapLine(coverageGaps(local, scalar)[0]!),
      /fix: issue \/lego\/a\.example\.crt for a\.example, www\.a\.example, or point sites\["www\.a\.example"\] at another site$/,
    );
  });
});

describe('withPeers and uncoveredSite', () => {
  const map: SiteMap = new Map([
    ['a.example', ['1']],
    ['www.a.example', ['1']],
  ]);

  it('prefers the certificate that covers every name over a newer one that does not', () => {
    const narrow = lineage(map, 'a.example', ['a.example'], 'ECC', '2031-01-01T00:00:00Z');
    const wide = lineage(
      map,
      'a.example-0001',
      ['a.example', 'www.a.example'],
      'ECC',
      '2030-01-01T00:00:00Z',
    );
    const [chosen, ...more] = withPeers(narrow, [...narrow, ...wide], map);
    assert.deepEqual(more, []);
    assert.equal(chosen?.files.lineage, '/le/live/a.example-0001');
    assert.equal(uncoveredSite(chosen, map), undefined);
  });

  it('refuses a want that does not cover, naming its peers', () => {
    const a = lineage(map, 'a.example', ['a.example']);
    const www = lineage(map, 'www.a.example', ['www.a.example']);
    const [chosen] = withPeers(a, [...a, ...www], map);
    const refusal = uncoveredSite(chosen!, map);
    assert.equal(refusal?.transient, false);
    assert.equal(refusal.code, 'UNCOVERED');
    assert.match(
      refusal?.message ?? '',
      /\/le\/live\/a\.example has a\.example; \/le\/live\/www\.a\.example has www\.a\.example/,
    );
    // A hook knows only its own certificate.
    assert.match(uncoveredSite(a[0]!, map)?.message ?? '', /\(\/le\/live\/a\.example has a\.example\); fix:/);
  });

  it("compares the site's own name when an answer says it", () => {
    const www = lineage(new Map([['www.a.example', ['1']]]), 'www.a.example', ['www.a.example']);
    const sites: SiteMap = new Map([['www.a.example', ['1']]]);
    assert.equal(uncoveredSite(www[0]!, sites), undefined);
    assert.match(
      uncoveredSite(www[0]!, sites, 'a.example')?.message ?? '',
      /^site 1 \(www\.a\.example, a\.example\)/,
    );
  });

  it('ownNameOf reads v3 siteName and v1 domain', () => {
    assert.equal(
      ownNameOf({
        source: 'v3',
        certificates: [
          {
            siteId: '1',
            keyType: 'ECC',
            status: 'ACTIVE',
            expirationDate: undefined,
            fingerprintSha1: undefined,
            serial: undefined,
            inputHash: undefined,
            siteName: 'a.example',
            mismatch: false,
          },
        ],
      }),
      'a.example',
    );
    assert.equal(ownNameOf({ source: 'v3', certificates: [] }), undefined);
    assert.equal(
      ownNameOf({ source: 'v1', status: { siteId: '1', domain: 'b.example', custom: undefined, dns: [] } }),
      'b.example',
    );
  });
});
