import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../src/model/errors.js';
import { parseRetryAfter } from '../../src/imperva/answer.js';
import { parseAnswer } from '../../src/imperva/envelope.js';
import { toApiError } from '../../src/imperva/http.js';
import { readVerdict, verdictWarnings } from '../../src/imperva/verdict.js';

const json = (body: unknown, status = 200, extra: { retryAfter?: string } = {}) => ({
  status,
  contentType: 'application/json',
  retryAfter: extra.retryAfter,
  body: JSON.stringify(body),
});
const html = (status: number) => ({
  status,
  contentType: 'text/html',
  retryAfter: undefined,
  body: '<html><body>Error 15</body></html>',
});

function failure(answer: Parameters<typeof parseAnswer>[0]): ApiError {
  try {
    parseAnswer(answer);
  } catch (error) {
    assert.ok(error instanceof ApiError);
    return error;
  }
  assert.fail('expected an ApiError');
}

describe('parseAnswer', () => {
  it('accepts res 0 as a number or a string', () => {
    assert.equal(parseAnswer(json({ res: 0, res_message: 'OK' })).resMessage, 'OK');
    assert.equal(parseAnswer(json({ res: '0', res_message: 'OK' })).resMessage, 'OK');
  });

  const cases: [
    string,
    Parameters<typeof parseAnswer>[0],
    { transient: boolean; message: RegExp; res?: number },
  ][] = [
    [
      'res 3015 is transient',
      json({ res: 3015, res_message: 'Internal error' }),
      { transient: true, res: 3015, message: /res 3015 "Internal error"/ },
    ],
    [
      'res 4 is transient',
      json({ res: 4, res_message: 'Timeout' }),
      { transient: true, res: 4, message: /res 4/ },
    ],
    [
      'res "9413" is not',
      json({ res: '9413', res_message: 'Unknown/unauthorized site_id' }),
      { transient: false, res: 9413, message: /res 9413 .*check the sites map/ },
    ],
    [
      'res 9411 is not',
      json({ res: 9411, res_message: 'Authentication missing or invalid' }),
      { transient: false, res: 9411, message: /check api\.id and api\.key/ },
    ],
    [
      'res 2 is not',
      json({ res: 2, res_message: 'Invalid input' }),
      { transient: false, res: 2, message: /invalid input/ },
    ],
    [
      'HTTP 429 is transient',
      json({}, 429, { retryAfter: '7' }),
      { transient: true, message: /throttling requests \(HTTP 429\)/ },
    ],
    [
      'HTTP 502 with HTML is transient',
      html(502),
      { transient: true, message: /HTTP 502 with an HTML page/ },
    ],
    [
      'HTTP 200 with HTML is transient',
      html(200),
      { transient: true, message: /HTML page instead of JSON \(HTTP 200\)/ },
    ],
    [
      'truncated JSON is transient',
      { status: 200, contentType: 'application/json', retryAfter: undefined, body: '{"res": 0, "res_mes' },
      { transient: true, message: /not JSON/ },
    ],
    ['JSON without res is transient', json({ hello: 1 }), { transient: true, message: /without a res code/ }],
    ['HTTP 404 without an envelope is not', html(404), { transient: false, message: /HTTP 404/ }],
    [
      'HTTP 401 with an envelope reports res',
      json({ res: 9411, res_message: 'Auth' }, 401),
      { transient: false, res: 9411, message: /res 9411/ },
    ],
  ];
  for (const [title, answer, expected] of cases) {
    it(title, () => {
      const error = failure(answer);
      assert.equal(error.transient, expected.transient);
      assert.match(error.message, expected.message);
      assert.equal(error.res, expected.res);
      assert.equal(error.status, answer.status);
    });
  }

  it('keeps the Retry-After of a 429', () => {
    assert.equal(failure(json({}, 429, { retryAfter: '12' })).retryAfterSeconds, 12);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-27T00:00:00Z');
  it('reads seconds and HTTP dates', () => {
    assert.equal(parseRetryAfter('30', now), 30);
    assert.equal(parseRetryAfter('Fri, 27 Nov 2026 00:00:10 GMT', now), 10);
    assert.equal(parseRetryAfter('Thu, 26 Nov 2026 00:00:10 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });
});

describe('verdictWarnings', () => {
  const notAfter = new Date('2027-02-25T00:00:00Z');
  it('is silent when Imperva agrees', () => {
    const verdict = readVerdict({ active: true, expirationDate: notAfter.getTime(), chainError: false });
    assert.deepEqual(verdictWarnings(verdict, notAfter), []);
    assert.deepEqual(verdictWarnings(undefined, notAfter), []);
  });
  it('warns on another expiry and on every error flag', () => {
    const verdict = readVerdict({
      expirationDate: notAfter.getTime() - 86_400_000,
      chainError: true,
      validityError: true,
      hostnameMismatchError: true,
    });
    const warnings = verdictWarnings(verdict, notAfter);
    assert.equal(warnings.length, 4);
    assert.match(
      warnings[0] ?? '',
      /expiry 2027-02-24T00:00:00.000Z, but the certificate's notAfter is 2027-02-25/,
    );
    assert.match(warnings[1] ?? '', /chain error/);
    assert.match(warnings[2] ?? '', /validity error/);
    assert.match(warnings[3] ?? '', /hostname/);
  });
});

describe('toApiError (what got threw, made ours)', () => {
  const cases: [string, unknown, string, boolean][] = [
    [
      'a timeout',
      { code: 'ETIMEDOUT', options: { headers: { 'x-api-key': 'secret' } } },
      'no answer from Imperva within 30 s',
      true,
    ],
    ['a reset', { code: 'ECONNRESET' }, 'cannot reach Imperva (ECONNRESET)', true],
    ['a refusal', { code: 'ECONNREFUSED' }, 'cannot reach Imperva (ECONNREFUSED)', true],
    [
      'an expired server certificate',
      { code: 'CERT_HAS_EXPIRED' },
      'cannot reach Imperva (CERT_HAS_EXPIRED)',
      false,
    ],
    [
      'an unknown CA',
      { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
      'cannot reach Imperva (UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
      false,
    ],
    ['something without a code', new Error('boom'), 'cannot reach Imperva (unknown error)', true],
  ];
  for (const [title, thrown, message, transient] of cases) {
    it(`${title}: ${transient ? 'retried' : 'not retried'}, and carries nothing of the request`, () => {
      const error = toApiError(thrown, 30_000);
      assert.deepEqual([error.message, error.transient], [message, transient]);
      assert.ok(!JSON.stringify({ ...error }).includes('secret'));
    });
  }
});
