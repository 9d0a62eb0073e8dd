/** No part of a secret survives redaction: prefixes, pieces, base64 at any alignment, URL-encoded, split over lines. */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { MIN_FRAGMENT, REDACTED, Redactor } from '../../src/log/redact.js';

const API_KEY = `key-${randomBytes(18).toString('hex')}`;
const PEM = Buffer.from(
  generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }),
);
const SENT = PEM.toString('base64'); // what the upload carries as private_key
const BODY = PEM.toString('latin1')
  .split('\n')
  .filter((line) => /^[A-Za-z0-9+/=]+$/.test(line));

function redactor(): Redactor {
  const r = new Redactor();
  r.addSecret(API_KEY);
  r.addPrivateKey(PEM);
  return r;
}

/** Every piece of `secret` of MIN_FRAGMENT characters or more that is still in `text`. */
function leftOf(secret: string, text: string): string | undefined {
  for (let start = 0; start + MIN_FRAGMENT <= secret.length; start += 1) {
    const piece = secret.slice(start, start + MIN_FRAGMENT);
    if (text.includes(piece)) return piece;
  }
  return undefined;
}

function assertClean(text: string): void {
  for (const secret of [API_KEY, Buffer.from(API_KEY).toString('base64'), SENT, BODY.join(''), ...BODY]) {
    assert.equal(leftOf(secret, text), undefined, `a piece of a secret is left in: ${text}`);
  }
}

describe('Redactor removes every part of a secret', () => {
  const r = redactor();
  const cases: [string, string][] = [
    ['a prefix of the API key (a message cut short)', `Invalid api_key ${API_KEY.slice(0, 12)}`],
    ['a prefix of the API key at the end of a cut line', `${'x'.repeat(50)} key=${API_KEY.slice(0, 9)}`],
    ['the middle of the API key', `…${API_KEY.slice(7, 30)}…`],
    ['the API key split over lines', `${API_KEY.slice(0, 20)}\n${API_KEY.slice(20)}`],
    ['the API key in base64, cut', `auth=${Buffer.from(API_KEY).toString('base64').slice(0, 20)}`],
    [
      'the API key inside a longer base64 text, at any alignment',
      `${Buffer.from(`a:${API_KEY}`).toString('base64')} ${Buffer.from(`ab:${API_KEY}`).toString('base64')}`,
    ],
    ['the API key URL-encoded in a form', `api_id=1&api_key=${encodeURIComponent(API_KEY)}`],
    ['the sent private key, cut', `private_key=${SENT.slice(0, 150)}`],
    ['the middle of the sent private key', `…${SENT.slice(400, 470)}…`],
    [
      'the sent private key URL-encoded (a form echoed)',
      `private_key=${encodeURIComponent(SENT.slice(0, 300))}`,
    ],
    ['the sent private key in URL-safe base64', PEM.toString('base64url').slice(100, 200)],
    ['two body lines joined', `${BODY[3]}${BODY[4]}`],
    ['a piece across two body lines', `${BODY[3]?.slice(30)}\n${BODY[4]?.slice(0, 20)}`],
    ['a piece across two body lines, joined', `${BODY[3]?.slice(30)}${BODY[4]?.slice(0, 20)}`],
    ['a body line re-wrapped to 76 columns', BODY.join('').slice(64, 64 + 76)],
  ];
  for (const [title, text] of cases) {
    it(title, () => {
      const out = r.redact(text);
      assert.ok(out.includes(REDACTED), out);
      assertClean(out);
    });
  }

  it('the API key inside longer base64 texts leaves at most the few characters that mix in other bytes', () => {
    for (const prefix of ['a:', 'ab:', 'abc:', '']) {
      const out = r.redact(Buffer.from(`${prefix}${API_KEY}`).toString('base64'));
      assert.ok(out.length <= REDACTED.length + 10, out);
    }
  });

  it('in nested values too (a queue entry, the onFailure summary)', () => {
    const out = r.redactValue({ sites: [{ error: `res 2 "${API_KEY.slice(0, 16)}"`, at: new Date(0) }] });
    assert.deepEqual(out, { sites: [{ error: `res 2 "${REDACTED}"`, at: new Date(0) }] });
  });

  it('keeps the text around the secret, and ordinary text alone', () => {
    assert.equal(r.redact(`before ${API_KEY.slice(0, 16)} after`), `before ${REDACTED} after`);
    const plain =
      'uploaded www.example.com → site 1234567 (sha256 0123456789abcdef…); Imperva answered res 9411 "Authentication missing or invalid"';
    assert.equal(r.redact(plain), plain);
  });

  it('is not fooled by short secrets: they are removed whole only', () => {
    const short = new Redactor();
    short.addSecret('abcd');
    assert.equal(short.redact('xabcdx abc'), `x${REDACTED}x abc`);
  });
});
