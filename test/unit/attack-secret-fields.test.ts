/**
 * The key's own record carries the key; Imperva's field names are not all documented. A secret under a name that
 * says what it is (`apiKeyValue`, `client_secret`, `accessToken`, `api-key`), at any depth, is dropped as the JSON is
 * parsed, and what the watch reads (`id`, `enabled`, `expirationDate`, errors) stays.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseKeyRecord, parseWithoutSecrets } from '../../src/imperva/api-client.js';

const SECRET = 'the-secret-0123456789';

describe("secrets in the key's record under names nobody documented", () => {
  for (const name of [
    'apiKeyValue',
    'client_secret',
    'accessToken',
    'api-key',
    'x-api-key',
    'Password',
    'credentials',
  ])
    it(`${name}, nested: dropped`, () => {
      const parsed = parseWithoutSecrets(
        JSON.stringify({ data: [{ id: 42, extra: { [name]: SECRET }, list: [{ [name]: SECRET }] }] }),
      );
      assert.ok(!JSON.stringify(parsed).includes(SECRET), JSON.stringify(parsed));
    });

  it('what the watch reads stays', () => {
    const body = JSON.stringify({
      data: [
        { id: 42, apiKey: SECRET, enabled: false, expirationDate: 1_900_000_000_000, lastActionTime: 1 },
      ],
    });
    const answer = { status: 200, contentType: 'application/json', retryAfter: undefined, body };
    assert.deepEqual(parseKeyRecord(answer, '42'), {
      tracked: true,
      enabled: false,
      expiresAt: new Date(1_900_000_000_000),
    });
  });
});
