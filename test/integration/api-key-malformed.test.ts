/**
 * An API key that is not well-formed text. JSON lets a config say "\ud800" (a lone surrogate); the key's
 * check rejects it (printable ASCII only), but the key is registered for redaction before the check runs, and its
 * URL-encoded form could not be made: every command ended with "internal error: URI malformed", exit 1, and the
 * field was never named.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage } from '../support/pki.js';
import { API_ID, assertOneLineError, createWorld, type World } from '../support/world.js';

let world: World | undefined;
after(() => world?.close());

const COMMANDS = [
  ['status'],
  ['queue'],
  ['sync'],
  ['check'],
  ['verify'],
  ['push', '--lineage', 'LINEAGE'],
  ['remove', '--site-id', '1234567', '--auth-type', 'RSA'],
  ['deploy'],
];

describe('an API key that is not well-formed text', () => {
  for (const key of ['abcdefgh\\ud800ijklmnop', '\\udc00abcdefghijklmnop', 'abcdefghijklmnop\\ud83d']) {
    it(`is a config error naming api.key, for every command (${key})`, async () => {
      world ??= await createWorld();
      const leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
      const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
      writeFileSync(
        world.configFile,
        `{"api": {"id": "${API_ID}", "key": "${key}", "baseUrl": "${world.fake.url}"},\n` +
          ` "sites": {"example.com": 1234567}, "stateDir": ${JSON.stringify(world.stateDir)}}`,
        { mode: 0o600 },
      );
      for (const args of COMMANDS) {
        const result = await runCli(
          args.map((arg) => (arg === 'LINEAGE' ? lineage : arg)),
          { ...world.env, RENEWED_LINEAGE: lineage },
        );
        assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
        assertOneLineError(
          result.stderr,
          /^error: .*config\.json: api\.key: the API key must hold only printable ASCII characters/,
        );
      }
      assert.equal(world.fake.requests.length, 0, 'nothing was sent');
    });
  }
});
