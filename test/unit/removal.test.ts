import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { afterRemoval, removalRefusal } from '../../src/imperva/removal.js';
import type { CertificateEntry } from '../../src/imperva/v3-certificates.js';

const NOW = new Date('2026-01-10T00:00:00Z');
const DAY = 86_400_000;

function entry(keyType: 'RSA' | 'ECC', more: Partial<CertificateEntry> = {}): CertificateEntry {
  return {
    siteId: '1',
    keyType,
    status: 'ACTIVE',
    expirationDate: NOW.getTime() + 30 * DAY,
    fingerprintSha1: undefined,
    serial: undefined,
    inputHash: undefined,
    mismatch: false,
    ...more,
  };
}

describe('the one rule for removing (what would be left)', () => {
  const cases: [string, CertificateEntry[], 'RSA' | 'ECC', RegExp | undefined][] = [
    ['the other key type, unexpired: allowed', [entry('RSA'), entry('ECC')], 'ECC', undefined],
    ['nothing else: refused', [entry('ECC')], 'ECC', /left would be no other custom certificate/],
    [
      'the key type removed listed twice counts once: refused',
      [entry('RSA'), entry('RSA')],
      'RSA',
      /left would be no other custom certificate/,
    ],
    [
      'the other type EXPIRED: refused, naming it',
      [entry('RSA', { status: 'EXPIRED', expirationDate: NOW.getTime() - DAY }), entry('ECC')],
      'ECC',
      /left would be only the RSA custom certificate, which Imperva reports EXPIRED on 2026-01-09T00:00:00\.000Z/,
    ],
    [
      'the other type past its expiry though Imperva still says ACTIVE: refused',
      [entry('RSA', { expirationDate: NOW.getTime() - 1 }), entry('ECC')],
      'ECC',
      /only the RSA custom certificate, which expired on /,
    ],
    [
      'the other type flagged as not covering the site: refused',
      [entry('RSA', { mismatch: true }), entry('ECC')],
      'ECC',
      /only the RSA custom certificate, which Imperva flags as not covering the site's names/,
    ],
    [
      'the other type listed twice, one of them unexpired: allowed',
      [entry('RSA', { status: 'EXPIRED' }), entry('RSA'), entry('ECC')],
      'ECC',
      undefined,
    ],
    [
      'a legacy entry without an expiry that Imperva calls ACTIVE counts',
      [entry('RSA', { expirationDate: undefined }), entry('ECC')],
      'ECC',
      undefined,
    ],
  ];
  for (const [label, entries, removing, refusal] of cases) {
    it(label, () => {
      const said = removalRefusal(entries, removing, NOW);
      if (refusal === undefined) assert.equal(said, undefined);
      else assert.match(said ?? '', refusal);
    });
  }

  it('lists each other key type that would be left once', () => {
    const left = afterRemoval([entry('RSA'), entry('RSA'), entry('ECC')], 'ECC', NOW).left;
    assert.deepEqual(
      left.map((one) => one.keyType),
      ['RSA'],
    );
  });
});

describe("the removal rule counts Imperva's own certificate", () => {
  it('nothing else, but a covering fallback: allowed', () => {
    assert.equal(removalRefusal([entry('ECC')], 'ECC', NOW, true), undefined);
  });

  it('nothing else, and no covering fallback: refused, saying so', () => {
    assert.match(
      removalRefusal([entry('ECC')], 'ECC', NOW, false) ?? '',
      /left would be no other custom certificate, and no certificate of Imperva's own covers them$/,
    );
  });

  it('the fallback could not be judged: refused, saying so', () => {
    assert.match(
      removalRefusal([entry('RSA', { status: 'EXPIRED' }), entry('ECC')], 'ECC', NOW) ?? '',
      /only the RSA custom certificate, which Imperva reports EXPIRED.*, and whether Imperva's own certificate covers them could not be told$/,
    );
  });
});
