import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/model/errors.js';
import { hookSource, isHookEnvironment } from '../../src/sources/env.js';
import { tempDir } from '../support/harness.js';

const lineage = join(tempDir(), 'live', 'example.com');
mkdirSync(lineage, { recursive: true });

const certbot = { RENEWED_LINEAGE: lineage, RENEWED_DOMAINS: 'example.com' };
const lego5 = {
  LEGO_HOOK_CERT_PATH: '/l5/a.crt',
  LEGO_HOOK_CERT_KEY_PATH: '/l5/a.key',
  LEGO_HOOK_ISSUER_CERT_PATH: '/l5/a.issuer.crt',
  LEGO_HOOK_CERT_DOMAINS: 'a,b',
};
const lego4 = { LEGO_CERT_PATH: '/l4/a.crt', LEGO_CERT_KEY_PATH: '/l4/a.key', LEGO_CERT_DOMAIN: 'a' };
const acme = {
  CERT_FULLCHAIN_PATH: '/acme/fullchain.cer',
  CERT_KEY_PATH: '/acme/a.key',
  CERT_PATH: '/acme/a.cer',
};

describe('hookSource', () => {
  const cases: [string, Record<string, string>, string, Record<string, string | undefined>][] = [
    [
      'certbot',
      certbot,
      'certbot',
      { cert: join(lineage, 'fullchain.pem'), key: join(lineage, 'privkey.pem'), lineage },
    ],
    ['lego 5', lego5, 'lego 5', { cert: '/l5/a.crt', key: '/l5/a.key', issuer: '/l5/a.issuer.crt' }],
    ['lego 4', lego4, 'lego 4', { cert: '/l4/a.crt', key: '/l4/a.key', issuer: undefined }],
    [
      'lego 4 with an issuer',
      { ...lego4, LEGO_ISSUER_CERT_PATH: '/l4/a.issuer.crt' },
      'lego 4',
      { cert: '/l4/a.crt', key: '/l4/a.key', issuer: '/l4/a.issuer.crt' },
    ],
    ['acme.sh', acme, 'acme.sh', { cert: '/acme/fullchain.cer', key: '/acme/a.key' }],
    [
      'certbot before all',
      { ...acme, ...lego4, ...lego5, ...certbot },
      'certbot',
      { cert: join(lineage, 'fullchain.pem') },
    ],
    ['lego 5 before lego 4 and acme.sh', { ...acme, ...lego4, ...lego5 }, 'lego 5', { cert: '/l5/a.crt' }],
    ['lego 4 before acme.sh', { ...acme, ...lego4 }, 'lego 4', { cert: '/l4/a.crt' }],
  ];
  for (const [title, env, client, files] of cases) {
    it(title, () => {
      const source = hookSource(env);
      assert.ok(source?.client.startsWith(client), source?.client);
      for (const [key, value] of Object.entries(files))
        assert.equal((source?.files as unknown as Record<string, unknown>)[key], value, key);
      assert.equal(isHookEnvironment(env), true);
    });
  }

  it('is undefined, and no hook environment, when no client set anything', () => {
    assert.equal(hookSource({ PATH: '/bin', RENEWED_LINEAGE: '' }), undefined);
    assert.equal(isHookEnvironment({ PATH: '/bin' }), false);
  });

  it('names the missing half of an incomplete hand-off', () => {
    assert.throws(
      () => hookSource({ LEGO_CERT_PATH: '/l4/a.crt' }),
      (error) =>
        error instanceof UsageError &&
        error.message ===
          "LEGO_CERT_PATH is set but LEGO_CERT_KEY_PATH is not: the ACME client's hand-off is incomplete",
    );
  });
});
