import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseKeyRecord, parseWithoutSecrets } from '../../src/imperva/api-client.js';
import {
  fallbackCovers,
  indexOwn,
  parseOwnCertificates,
  readGenerated,
} from '../../src/imperva/own-certificates.js';
import { ApiError } from '../../src/model/errors.js';

const json = (status: number, body: unknown) => ({
  status,
  contentType: 'application/json',
  retryAfter: undefined,
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

describe("the key's own record (api-clients)", () => {
  const SECRET = 'the-secret-0123456789';
  const record = (more: Record<string, unknown> = {}) => ({
    meta: { total: 1 },
    data: [{ id: 42, apiKey: SECRET, enabled: true, expirationDate: 1_900_000_000_000, ...more }],
  });

  it('the secret is dropped as the JSON is parsed, at any depth', () => {
    const parsed = parseWithoutSecrets(
      JSON.stringify({ ...record(), nested: [{ api_key: SECRET, secret: SECRET }] }),
    );
    assert.ok(!JSON.stringify(parsed).includes(SECRET));
  });

  it('reads the expiry (ms or a date text) and whether the key is enabled', () => {
    assert.deepEqual(parseKeyRecord(json(200, record()), '42'), {
      tracked: true,
      enabled: true,
      expiresAt: new Date(1_900_000_000_000),
    });
    const text = parseKeyRecord(
      json(200, record({ expirationDate: '2030-01-02T00:00:00Z', enabled: false })),
      '42',
    );
    assert.deepEqual(text, { tracked: true, enabled: false, expiresAt: new Date('2030-01-02T00:00:00Z') });
    const never = parseKeyRecord(json(200, record({ expirationDate: null })), '42');
    assert.deepEqual(never, { tracked: true, enabled: true, expiresAt: undefined });
  });

  for (const status of [400, 401, 403, 404])
    it(`HTTP ${status}, or an error list with ${status} inside HTTP 200: not tracked`, () => {
      const errors = { errors: [{ status, title: 'Forbidden', detail: 'no' }] };
      assert.equal(parseKeyRecord(json(status, errors), '42').tracked, false);
      assert.equal(parseKeyRecord(json(200, errors), '42').tracked, false);
    });

  it('a server error or a page that is not JSON is transient (retried), never "not tracked"', () => {
    for (const answer of [json(500, 'error'), { ...json(200, '<html></html>'), contentType: 'text/html' }]) {
      assert.throws(
        () => parseKeyRecord(answer, '42'),
        (error: unknown) => error instanceof ApiError && error.transient,
      );
    }
  });

  it('no record for the key: not tracked', () => {
    const two = { data: [{ id: 1 }, { id: 2 }] };
    assert.equal(parseKeyRecord(json(200, two), '42').tracked, false);
  });
});

describe("Imperva's own certificates (the fallback)", () => {
  const atlas = (status: string, sans: { name: string; status?: string; sites?: number[] }[]) => ({
    id: 1,
    name: 'ATLAS_1-1',
    status,
    level: 'ACCOUNT',
    authType: 'RSA',
    sans: sans.map((san) => ({
      sanValue: san.name,
      status: san.status ?? 'VALIDATED',
      ...(san.sites === undefined ? {} : { sitesIds: san.sites }),
    })),
  });
  const listed = (...items: unknown[]) => indexOwn(parseOwnCertificates(json(200, { data: items })));

  it('ACTIVE and NEAR_EXPIRATION cover; IN_PROCESS and EXPIRED do not', () => {
    for (const [status, covers] of [
      ['ACTIVE', true],
      ['NEAR_EXPIRATION', true],
      ['IN_PROCESS', false],
      ['EXPIRED', false],
    ] as const) {
      const index = listed(atlas(status, [{ name: 'a.example', sites: [7] }]));
      assert.equal(fallbackCovers(index, '7', ['a.example']), covers, status);
    }
  });

  it('every name must be covered by a validated name for that site; a wildcard covers one label', () => {
    const index = listed(
      atlas('ACTIVE', [
        { name: '*.example.com', sites: [7] },
        { name: 'example.com', sites: [7] },
        { name: 'pending.example.org', status: 'PENDING_USER_ACTION', sites: [7] },
        { name: 'other.example.net', sites: [8] },
      ]),
    );
    assert.equal(fallbackCovers(index, '7', ['example.com', 'www.example.com']), true);
    assert.equal(fallbackCovers(index, '7', ['a.b.example.com']), false);
    assert.equal(fallbackCovers(index, '7', ['pending.example.org']), false);
    assert.equal(fallbackCovers(index, '7', ['other.example.net']), false);
    assert.equal(fallbackCovers(index, '7', []), false);
  });

  it('custom certificates in the listing are not a fallback', () => {
    const custom = { ...atlas('ACTIVE', [{ name: 'a.example' }]), type: 'CUSTOM_CERT' };
    assert.equal(fallbackCovers(listed(custom), '7', ['a.example']), false);
  });

  it('a failing listing throws, as the custom listing does', () => {
    assert.throws(() => parseOwnCertificates(json(500, 'error')), ApiError);
    assert.throws(() => parseOwnCertificates(json(200, { errors: [{ status: 403 }] })), ApiError);
  });

  it('sites/status generated_certificate: issued unless its validation says pending, failed, …', () => {
    const generated = (status: unknown) =>
      readGenerated({ san: ['*.example.com', 'example.com'], validation_status: status });
    const covered = (status: unknown) => {
      const one = generated(status);
      return one !== undefined && fallbackCovers(indexOwn([one]), '7', ['www.example.com']);
    };
    assert.equal(covered('done'), true);
    assert.equal(covered('pending_user_action'), false);
    assert.equal(covered(undefined), false);
    assert.equal(readGenerated(undefined), undefined);
  });
});
