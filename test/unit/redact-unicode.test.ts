/**
 * Redaction of text that is not plain ASCII: secrets and texts with non-BMP characters, lone surrogates, texts of
 * exactly MIN_FRAGMENT characters, a fragment at the very start or end of a line.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_FRAGMENT, REDACTED, Redactor } from '../../src/log/redact.js';

describe('Redactor on text that is not plain ASCII', () => {
  it('takes a secret with a lone surrogate (it has no URL-encoded form) and still redacts it and its parts', () => {
    for (const secret of ['abcdefgh\ud800ijklmnop', '\udc00abcdefghijklmnop', 'abcdefghijklmnop\ud83d']) {
      const redactor = new Redactor();
      assert.doesNotThrow(() => redactor.addSecret(secret));
      assert.equal(redactor.redact(`key=${secret};`), `key=${REDACTED};`);
      assert.equal(redactor.redact(secret.slice(0, MIN_FRAGMENT)), REDACTED);
      assert.equal(redactor.redact(`${secret.slice(-MIN_FRAGMENT)} end`), `${REDACTED} end`);
    }
  });

  it('redacts a non-BMP secret, whole, in part, at the start and at the end of a line', () => {
    const secret = 'k\u{1F511}y-0123456789-\u{10FFFF}z';
    const redactor = new Redactor();
    redactor.addSecret(secret);
    assert.equal(redactor.redact(secret), REDACTED);
    assert.equal(redactor.redact(`${secret.slice(0, MIN_FRAGMENT)}: tail`), `${REDACTED}: tail`);
    assert.equal(redactor.redact(`head: ${secret.slice(-MIN_FRAGMENT)}`), `head: ${REDACTED}`);
    assert.equal(redactor.redact(`${secret.slice(2, 2 + MIN_FRAGMENT)}`), REDACTED);
    // One character short of a fragment is left: too likely to be ordinary text.
    assert.equal(redactor.redact(secret.slice(0, MIN_FRAGMENT - 1)), secret.slice(0, MIN_FRAGMENT - 1));
  });

  it('leaves texts shorter than a fragment, and ones without a secret, as they are', () => {
    const redactor = new Redactor();
    redactor.addSecret('s3cr3t-k3y-0123456789');
    for (const text of ['', 'a', '\ud800', '\u{1F600}', 'x'.repeat(MIN_FRAGMENT), 'abc\udc00defgh'])
      assert.equal(redactor.redact(text), text);
  });
});
