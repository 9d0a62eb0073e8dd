import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/model/errors.js';
import { ClientError, NetworkError } from '../../src/imperva/errors.js';
import { MAX_QUOTED_CHARS, parseRetryAfter } from '../../src/imperva/answer.js';
import { parseAnswer } from '../../src/imperva/envelope.js';
import { toApiError } from '../../src/imperva/http.js';
import { MIN_THROTTLED_WAIT_MS, retryDelayMs } from '../../src/imperva/retry.js';
import { readDns } from '../../src/imperva/site-status.js';
import {
  normalizeFingerprint,
  normalizeSerial,
  parseCertificates,
} from '../../src/imperva/v3-certificates.js';

const answer = (body: string, status = 200, contentType = 'application/json') => ({
  status,
  contentType,
  retryAfter: undefined,
  body,
});

function failure(run: () => unknown): ApiError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ApiError, String(error));
    return error;
  }
  assert.fail('expected an ApiError');
}

describe('parseAnswer: only res 0 or "0" in a JSON object is a success', () => {
  it('accepts 0 and "0"', () => {
    assert.equal(parseAnswer(answer('{"res":0,"res_message":"OK"}')).resMessage, 'OK');
    assert.equal(parseAnswer(answer('{"res":"0"}')).resMessage, 'OK');
  });

  const odd: [string, string][] = [
    ['res missing', '{"res_message":"OK"}'],
    ['res null', '{"res":null,"res_message":"OK"}'],
    ['res empty', '{"res":""}'],
    ['res whitespace', '{"res":" "}'],
    ['res " 0"', '{"res":" 0"}'],
    ['res "0 "', '{"res":"0 "}'],
    ['res "00"', '{"res":"00"}'],
    ['res "0x0"', '{"res":"0x0"}'],
    ['res "0.0"', '{"res":"0.0"}'],
    ['res false', '{"res":false}'],
    ['res true', '{"res":true}'],
    ['res []', '{"res":[]}'],
    ['res [0]', '{"res":[0]}'],
    ['res {}', '{"res":{}}'],
    ['res 0.5', '{"res":0.5}'],
    ['res -1', '{"res":-1}'],
    ['res "abc"', '{"res":"abc"}'],
    ['a list', '[{"res":0}]'],
    ['a bare 0', '0'],
    ['a string', '"0"'],
    ['null', 'null'],
  ];
  for (const [title, body] of odd) {
    it(`${title}: an unexpected answer, not a success, retried`, () => {
      const error = failure(() => parseAnswer(answer(body)));
      assert.equal(error.transient, true);
      assert.equal(error.res, undefined);
      assert.match(error.message, /^Imperva answered (an unexpected res|JSON without a res code)/);
      if (body.length > 4) assert.ok(!error.message.includes(body), 'the odd value is described, not quoted');
    });
  }

  it('a numeric string code is still a code', () => {
    const error = failure(() => parseAnswer(answer('{"res":"9413","res_message":"x"}')));
    assert.deepEqual([error.res, error.transient], [9413, false]);
  });

  it('names res 9418 as a disabled key', () => {
    assert.match(failure(() => parseAnswer(answer('{"res":9418}'))).message, /disabled/);
  });

  it('quotes a res_message whole up to the bound, and not at all beyond it (no cut that redaction could miss)', () => {
    const short = 'x'.repeat(MAX_QUOTED_CHARS);
    const long = `secret-${'y'.repeat(MAX_QUOTED_CHARS)}`;
    const quoted = failure(() => parseAnswer(answer(JSON.stringify({ res: 2, res_message: short }))));
    assert.ok(quoted.message.includes(short));
    assert.equal(quoted.resMessage, short);
    const dropped = failure(() => parseAnswer(answer(JSON.stringify({ res: 2, res_message: long }))));
    assert.ok(!dropped.message.includes('secret-'), dropped.message);
    assert.equal(dropped.resMessage, undefined);
    assert.match(dropped.message, /^Imperva answered res 2 \(invalid input\)$/);
  });
});

describe('parseRetryAfter and the throttled floor', () => {
  const now = Date.parse('2026-11-27T00:00:00Z');
  const table: [string | undefined, number | undefined][] = [
    ['30', 30],
    ['0', 0],
    ['0.2', 0.2],
    ['-5', undefined],
    ['1e9', undefined],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
    ['Fri, 27 Nov 2026 00:00:10 GMT', 10],
    ['Thu, 26 Nov 2026 00:00:10 GMT', 0],
    ['2026-11-27T00:00:10Z', undefined],
  ];
  for (const [value, expected] of table) {
    it(`${JSON.stringify(value)} → ${String(expected)}`, () =>
      assert.equal(parseRetryAfter(value, now), expected));
  }

  it('a throttled retry waits at least 1 s, whatever Retry-After said', () => {
    for (const retryAfterSeconds of [undefined, 0, 0.2, -3, Number.NaN]) {
      const error = new ApiError('HTTP 429', {
        transient: true,
        status: 429,
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      });
      const delay = retryDelayMs(error, 1, { attempts: 4, retryDelayMs: 10 }, () => 0);
      assert.ok(
        delay !== undefined && delay >= MIN_THROTTLED_WAIT_MS,
        `${String(retryAfterSeconds)}: ${delay}`,
      );
    }
  });

  it('a name that does not resolve is retried once at most', () => {
    const settings = { attempts: 4, retryDelayMs: 10 };
    for (const code of ['ENOTFOUND', 'EAI_AGAIN']) {
      const error = toApiError({ code }, 1000, 'my.imperva.com');
      assert.ok(error instanceof NetworkError);
      assert.equal(error.message, `cannot reach my.imperva.com (${code})`);
      assert.notEqual(retryDelayMs(error, 1, settings), undefined);
      assert.equal(retryDelayMs(error, 2, settings), undefined);
    }
    assert.notEqual(retryDelayMs(toApiError({ code: 'ECONNRESET' }, 1000, 'h'), 2, settings), undefined);
  });
});

describe('parseCertificates (v3)', () => {
  const body = JSON.stringify({
    data: [
      {
        id: 1,
        type: 'CUSTOM_CERT',
        status: 'ACTIVE',
        authType: 'RSA',
        expirationDate: 1803562533000,
        extSiteId: 123,
        siteName: 'www.example.com',
        customCertificateDetails: {
          fingerprint: 'SHA1 Fingerprint=AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD',
          serialNumber: '00:0A:1B',
          inputHash: 'abc',
        },
      },
      {
        type: 'CUSTOM_CERT',
        status: 'NEAR_EXPIRATION',
        authType: 'ECC',
        extSiteId: '123',
        expirationDate: 5,
      },
      { type: 'CUSTOM_CERT', authType: 'RSA', extSiteId: 456 },
      { type: 'OTHER', authType: 'RSA', extSiteId: 123 },
      { type: 'CUSTOM_CERT', authType: 'DSA', extSiteId: 123 },
      'junk',
    ],
  });

  it('reads one entry per key type, normalized, and keeps only the site asked for', () => {
    assert.deepEqual(parseCertificates(answer(body), '123'), [
      {
        siteId: '123',
        keyType: 'RSA',
        status: 'ACTIVE',
        expirationDate: 1803562533000,
        fingerprintSha1: 'aabbccddeeff00112233445566778899aabbccdd',
        serial: 'a1b',
        inputHash: 'abc',
        siteName: 'www.example.com',
        mismatch: false,
      },
      {
        siteId: '123',
        keyType: 'ECC',
        status: 'NEAR_EXPIRATION',
        expirationDate: 5,
        fingerprintSha1: undefined,
        serial: undefined,
        inputHash: undefined,
        siteName: undefined,
        mismatch: false,
      },
    ]);
    assert.deepEqual(
      parseCertificates(answer(body)).map((entry) => entry.siteId),
      ['123', '123', '456'],
    );
  });

  const errors: [number, string, boolean, string | undefined][] = [
    // 401 may be a propagation race: retried once, then read through v1 (listCertificates).
    [401, 'API', true, 'Unauthorized'],
    [403, 'V3_UNAVAILABLE', false, 'Forbidden'],
    [404, 'V3_UNAVAILABLE', false, undefined],
    [400, 'V3_UNAVAILABLE', false, 'Not Found'],
    [500, 'API', true, undefined],
    [429, 'API', true, undefined],
  ];
  for (const [status, code, transient, title] of errors) {
    it(`HTTP ${status}: ${code}, ${transient ? 'retried' : 'not retried'}`, () => {
      const errorBody = JSON.stringify({
        errors: [{ status, id: 'x', title: title ?? 'Error', detail: 'd' }],
      });
      const error = failure(() => parseCertificates(answer(errorBody, status)));
      assert.equal(error.code, code);
      assert.equal(error.transient, transient);
      assert.equal(error.status, status);
      if (code !== 'API') assert.ok(error instanceof ClientError);
    });
  }

  it('an answer without a list is transient', () => {
    assert.equal(failure(() => parseCertificates(answer('{"data":{}}'))).transient, true);
    assert.equal(failure(() => parseCertificates(answer('<html>', 200, 'text/html'))).transient, true);
  });

  it('an errors list in an HTTP 200 is a failure with its own status, never "no certificates"', () => {
    const inner = (status: number) =>
      JSON.stringify({ data: [], errors: [{ status, id: 'x', title: 'Not Found', detail: 'd' }] });
    const notFound = failure(() => parseCertificates(answer(inner(400))));
    assert.deepEqual([notFound.code, notFound.status], ['V3_UNAVAILABLE', 400]);
    assert.match(notFound.message, /HTTP 200 with error 400 "Not Found: d"/);
    const refused = failure(() => parseCertificates(answer(inner(401))));
    assert.deepEqual([refused.status, refused.transient], [401, true]);
    // An empty errors list beside the data is an ordinary answer.
    assert.deepEqual(parseCertificates(answer('{"data":[],"errors":[]}')), []);
  });

  it('a plain-text HTTP 500 is a server error, retried', () => {
    const error = failure(() => parseCertificates(answer('error', 500, 'text/plain')));
    assert.deepEqual([error.status, error.transient], [500, true]);
    assert.match(error.message, /HTTP 500 with a body that is not JSON/);
  });

  it("tells Imperva's own certificates from custom ones, and reads legacy and flagged entries", () => {
    const listing = JSON.stringify({
      data: [
        // Imperva's own: no type, an ATLAS name, account level, no extSiteId (the site only in sans).
        {
          id: 9,
          name: 'ATLAS_1',
          status: 'IN_PROCESS',
          authType: 'RSA',
          level: 'ACCOUNT',
          sans: [{ sitesIds: [123] }],
        },
        { type: 'ATLAS', authType: 'RSA', extSiteId: 123, status: 'ACTIVE' },
        // Legacy: empty fingerprint and serial.
        {
          type: 'CUSTOM_CERT',
          authType: 'RSA',
          extSiteId: 123,
          expirationDate: 7,
          customCertificateDetails: { fingerprint: '', serialNumber: '', hasMismatchSite: true },
        },
      ],
    });
    assert.deepEqual(parseCertificates(answer(listing), '123'), [
      {
        siteId: '123',
        keyType: 'RSA',
        status: '',
        expirationDate: 7,
        fingerprintSha1: undefined,
        serial: undefined,
        inputHash: undefined,
        siteName: undefined,
        mismatch: true,
      },
    ]);
  });
});

describe('normalizing fingerprints and serials', () => {
  it('fingerprints', () => {
    const hex = 'aabbccddeeff00112233445566778899aabbccdd';
    for (const form of [hex, hex.toUpperCase(), `SHA1 Fingerprint=${hex.match(/../g)?.join(':')}`])
      assert.equal(normalizeFingerprint(form), hex);
    assert.equal(normalizeFingerprint('not hex'), undefined);
    assert.equal(normalizeFingerprint('aabb'), undefined);
  });
  it('serials', () => {
    for (const form of ['0A:1B', '0a1b', '00:0a:1b', '0x0A1B', 'A1B'])
      assert.equal(normalizeSerial(form), 'a1b');
    assert.equal(normalizeSerial('00'), '0');
    assert.equal(normalizeSerial('zz'), undefined);
  });
});

describe('readDns', () => {
  it('takes set_data_to as a string or a list', () => {
    assert.deepEqual(
      readDns([
        { dns_record_name: 'www.example.com', set_type_to: 'CNAME', set_data_to: ['x.incapdns.net'] },
        { dns_record_name: 'example.com', set_type_to: 'A', set_data_to: '192.0.2.1' },
        { dns_record_name: 'odd.example.com', set_data_to: [1, 'y.incapdns.net'] },
        { set_type_to: 'A' },
      ]),
      [
        { name: 'www.example.com', type: 'CNAME', targets: ['x.incapdns.net'] },
        { name: 'example.com', type: 'A', targets: ['192.0.2.1'] },
        { name: 'odd.example.com', type: '', targets: ['y.incapdns.net'] },
      ],
    );
    assert.deepEqual(readDns(undefined), []);
    assert.deepEqual(readDns('x'), []);
  });
});
