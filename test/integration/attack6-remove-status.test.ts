/**
 * The one rule for removing counts another key type's custom certificate only while Imperva says it is in force
 * (ACTIVE or NEAR_EXPIRATION, as for Imperva's own certificates): a REVOKED, INACTIVE or undocumented status is no
 * proof that browsers of that key type would still be served, and a removal is not undone.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, before, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, type Leaf } from '../support/pki.js';
import { uploadedElsewhere } from '../support/uploaded-elsewhere.js';
import { assertOneLineError, createWorld, type World } from '../support/world.js';

const DAY = 86_400_000;
const SITE = '1234567';
let rsa: Leaf;
let ecc: Leaf;
before(async () => {
  const pki = await createPki();
  [rsa, ecc] = await Promise.all([
    issueLeaf(pki, { names: ['example.com'], keyType: 'rsa' }),
    issueLeaf(pki, { names: ['example.com'], keyType: 'ec' }),
  ]);
});
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** A v3 entry of the site's custom certificate of one key type, unexpired, with Imperva's `status`. */
function entry(id: number, authType: 'RSA' | 'ECC', status: string): Record<string, unknown> {
  return {
    id,
    type: 'CUSTOM_CERT',
    status,
    authType,
    expirationDate: Date.now() + 60 * DAY,
    extSiteId: Number(SITE),
    level: 'SITE',
    customCertificateDetails: { fingerprint: '', serialNumber: '', hasMismatchSite: false },
  };
}

async function removeEcc(rsaStatus: string, force = false) {
  world = await createWorld({ sites: { [SITE]: 'example.com' }, map: { 'example.com': Number(SITE) } });
  // Nor has the site a certificate of Imperva's own to fall back on.
  world.fake.own.delete(SITE);
  await uploadedElsewhere(world, SITE, rsa, 'RSA');
  await uploadedElsewhere(world, SITE, ecc, 'ECC');
  world.fake.inject({
    endpoint: 'certificates',
    times: Infinity,
    fault: {
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ data: [entry(1, 'RSA', rsaStatus), entry(2, 'ECC', 'ACTIVE')] }),
    },
  });
  const live = join(world.dir, 'empty-live');
  mkdirSync(live);
  return runCli(
    ['remove', '--site-id', SITE, '--auth-type', 'ECC', '--live-dir', live, ...(force ? ['--force'] : [])],
    world.env,
  );
}

const removals = (w: World) => w.fake.requestsTo('remove').map((request) => request.form.auth_type);

describe('remove: the other key type counts only while Imperva says it is in force', () => {
  for (const status of ['REVOKED', 'INACTIVE', 'PENDING_DELETION']) {
    it(`${status}: refused, exit 2, nothing sent, the status named; --force removes`, async () => {
      const refused = await removeEcc(status);
      assert.equal(refused.code, 2, refused.stderr);
      assertOneLineError(
        refused.stderr,
        new RegExp(
          `^error: not removing the ECDSA custom certificate of site 1234567: afterwards no unexpired certificate would cover the site's names: left would be only the RSA custom certificate, which Imperva reports ${status}, not ACTIVE or NEAR_EXPIRATION, and no certificate of Imperva's own covers them; add --force to remove it anyway$`,
        ),
      );
      assert.deepEqual(removals(world as World), []);
      await world?.close();
      const forced = await removeEcc(status, true);
      assert.equal(forced.code, 0, forced.stderr);
      assert.deepEqual(removals(world as World), ['ECC']);
    });
  }
  for (const status of ['ACTIVE', 'NEAR_EXPIRATION']) {
    it(`${status}: removed at once`, async () => {
      const done = await removeEcc(status);
      assert.equal(done.code, 0, done.stderr);
      assert.deepEqual(removals(world as World), ['ECC']);
    });
  }
});
