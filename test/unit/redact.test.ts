import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REDACTED, Redactor } from '../../src/log/redact.js';

const KEY = 'key-0123456789abcdef0123';
const PEM = [
  '-----BEGIN PRIVATE KEY-----',
  'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgY2hhbmdlbWVjaGFu',
  'Z2VtZWNoYW5nZW1lY2hhbmdlbWWhRANCAARl0wYpF1nLH9yHQkV+0cKqgn7NfZ0Y',
  '-----END PRIVATE KEY-----',
  '',
].join('\n');

describe('Redactor', () => {
  const redactor = new Redactor();
  redactor.addSecret(KEY);
  redactor.addPrivateKey(Buffer.from(PEM));

  const cases: [string, string][] = [
    ['the API key', `x-API-Key: ${KEY}`],
    ['the API key in base64', `auth ${Buffer.from(KEY).toString('base64')}`],
    ['the API key URL-encoded in a form', `api_key=${encodeURIComponent(KEY)}&site_id=1`],
    ['a PEM private key block', `key:\n${PEM}done`],
    ['a PEM private key with another header', PEM.replaceAll('PRIVATE KEY', 'EC PRIVATE KEY')],
    ['the key file in base64', `private_key=${Buffer.from(PEM).toString('base64')}`],
    ['one line of the key body', 'Z2VtZWNoYW5nZW1lY2hhbmdlbWWhRANCAARl0wYpF1nLH9yHQkV+0cKqgn7NfZ0Y'],
    [
      'base64 of any PEM',
      `certificate=${Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB').toString('base64')}`,
    ],
  ];
  for (const [title, text] of cases) {
    it(`removes ${title}`, () => {
      const out = redactor.redact(text);
      assert.ok(out.includes(REDACTED), out);
      assert.ok(!out.includes(KEY));
      assert.ok(!out.includes('MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgY2hhbmdlbWVjaGFu'));
      assert.ok(!out.includes('LS0tLS1CRUdJTi'));
    });
  }

  it('leaves ordinary text alone', () => {
    assert.equal(
      redactor.redact('uploaded www.example.com → site 123'),
      'uploaded www.example.com → site 123',
    );
  });

  it('redacts nested metadata and keeps its shape', () => {
    assert.deepEqual(redactor.redactValue({ a: [KEY, 1], b: { c: `k=${KEY}` } }), {
      a: [REDACTED, 1],
      b: { c: `k=${REDACTED}` },
    });
  });
});
