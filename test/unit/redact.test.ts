import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_FRAGMENT, REDACTED, Redactor } from '../../src/log/redact.js';

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

/** A Redactor that registers one form of a secret, as it is. */
class OneForm extends Redactor {
  addForm(form: string): void {
    this.add(form);
  }
}

describe('Redactor: fragments of secrets', () => {
  /** The plain rule: every 8-character window of the text that is a window of a secret form is covered. */
  function covered(text: string, forms: readonly string[]): boolean[] {
    const windows = new Set<string>();
    for (const form of forms)
      for (let index = 0; index + MIN_FRAGMENT <= form.length; index += 1)
        windows.add(form.slice(index, index + MIN_FRAGMENT));
    const marks = new Array<boolean>(text.length).fill(false);
    for (let index = 0; index + MIN_FRAGMENT <= text.length; index += 1)
      if (windows.has(text.slice(index, index + MIN_FRAGMENT))) marks.fill(true, index, index + MIN_FRAGMENT);
    return marks;
  }

  it('removes exactly the stretches the plain rule covers, over many random texts', () => {
    let seed = 12345;
    const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789+/= é';
    const text = (length: number) =>
      Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    for (let round = 0; round < 500; round += 1) {
      const secret = text(8 + Math.floor(random() * 50));
      // Only the secret as it is: its base64 and URL forms would add windows the plain rule does not know.
      const redactor = new OneForm();
      redactor.addForm(secret);
      const start = Math.floor(random() * secret.length);
      const part = secret.slice(start, start + Math.floor(random() * (secret.length - start + 1)));
      const input = `${text(Math.floor(random() * 30))}${part}${text(Math.floor(random() * 30))}`;
      const marks = covered(input, [secret]);
      let expected = '';
      for (let index = 0; index < input.length; index += 1) {
        if (!marks[index]) expected += input[index];
        else if (index === 0 || !marks[index - 1]) expected += REDACTED;
      }
      assert.equal(redactor.redact(input), expected, JSON.stringify({ secret, input }));
    }
  });
});
