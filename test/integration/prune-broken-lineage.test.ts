/**
 * `pruneOtherKeyType` must never remove a key type for which this host has a lineage of its own. When that
 * lineage is broken at the moment (a key that no longer matches mid-renewal, a missing key, an unreadable
 * certificate), sync removed the site's RSA certificate at Imperva: RSA-only clients lost the site.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { FakeEdge } from '../support/fake-edge.js';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let rsa: Leaf;
let otherRsa: Leaf;
let ecc: Leaf;
before(async () => {
  const pki = await createPki();
  [rsa, otherRsa, ecc] = await Promise.all([
    issueLeaf(pki, { names: ['example.com'], keyType: 'rsa' }),
    issueLeaf(pki, { names: ['example.com'], keyType: 'rsa' }),
    issueLeaf(pki, { names: ['example.com'], keyType: 'ec' }),
  ]);
});
let world: World | undefined;
let edge: FakeEdge | undefined;
afterEach(async () => {
  await edge?.close();
  await world?.close();
  edge = undefined;
});
after(() => world?.close());

const breakages: Record<string, (lineage: string) => void> = {
  'a key that does not match': (lineage) => {
    rmSync(join(lineage, 'privkey.pem'));
    writeFileSync(join(lineage, 'privkey.pem'), otherRsa.keyPem, { mode: 0o600 });
  },
  'a missing key': (lineage) => rmSync(join(lineage, 'privkey.pem')),
  'an unreadable certificate': (lineage) => {
    rmSync(join(lineage, 'fullchain.pem'));
    writeFileSync(join(lineage, 'fullchain.pem'), 'not a certificate\n');
  },
};

describe('pruneOtherKeyType keeps the key type of a broken local lineage', () => {
  for (const [label, breakIt] of Object.entries(breakages)) {
    it(`RSA lineage with ${label}: sync --verify removes nothing`, async () => {
      world = await createWorld({
        sites: { '1234567': 'example.com' },
        map: { 'example.com': 1234567 },
        config: { pruneOtherKeyType: true },
      });
      edge = await FakeEdge.start({ imperva: world.fake });
      const env = { ...world.env, INCAP_CERT_EDGE: edge.address };
      const le = join(world.dir, 'le');
      const live = join(le, 'live');
      const rsaLineage = writeCertbotLineage(le, 'example.com-rsa', rsa);
      writeCertbotLineage(le, 'example.com', ecc);
      assert.equal((await runCli(['sync', '--live-dir', live], env)).code, 0);
      assert.ok(world.fake.serving('1234567', 'RSA'), 'both key types held after the first sync');

      breakIt(rsaLineage);
      const result = await runCli(['sync', '--verify', '--live-dir', live], env);
      if (label !== 'an unreadable certificate')
        assert.notEqual(result.code, 0, 'a broken lineage is not a healthy run');
      assert.equal(world.fake.requestsTo('remove').length, 0, result.stdout);
      assert.ok(world.fake.serving('1234567', 'RSA'), 'the RSA certificate is still held');
    });
  }
});
