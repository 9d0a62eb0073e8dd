/**
 * The one rule for removing counts another key type's custom certificate only while Imperva says it is in force
 * (ACTIVE or NEAR_EXPIRATION, as for Imperva's own certificates): a REVOKED, INACTIVE or undocumented status is no
 * proof that browsers of that key type would still be served, and a removal is not undone. With no status at all, an
 * expiry still ahead counts; an entry that gives neither (no status, no expirationDate, or a null for each) proves
 * nothing, and counting it let remove take the site's last working certificate.
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

/** The site's RSA entry with only the fields given (besides those that make it a custom certificate of the site). */
function rsaEntry(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    id: 1,
    type: 'CUSTOM_CERT',
    authType: 'RSA',
    extSiteId: Number(SITE),
    level: 'SITE',
    customCertificateDetails: { fingerprint: '', serialNumber: '', hasMismatchSite: false },
    ...fields,
  };
}

async function removeEcc(fields: Record<string, unknown>, force = false) {
  world = await createWorld({ sites: { [SITE]: 'example.com' }, map: { 'example.com': Number(SITE) } });
  // Nor has the site a certificate of Imperva's own to fall back on.
  world.fake.own.delete(SITE);
  await uploadedElsewhere(world, SITE, rsa, 'RSA');
  await uploadedElsewhere(world, SITE, ecc, 'ECC');
  const eccEntry = rsaEntry({
    id: 2,
    authType: 'ECC',
    status: 'ACTIVE',
    expirationDate: Date.now() + 60 * DAY,
  });
  world.fake.inject({
    endpoint: 'certificates',
    times: Infinity,
    fault: {
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({ data: [rsaEntry(fields), eccEntry] }),
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

/** An RSA entry with Imperva's `status` and an expiry 60 days ahead. */
const inForce = (status: string) => ({ status, expirationDate: Date.now() + 60 * DAY });

describe('remove: the other key type counts only while Imperva says it is in force', () => {
  for (const status of ['REVOKED', 'INACTIVE', 'PENDING_DELETION']) {
    it(`${status}: refused, exit 2, nothing sent, the status named; --force removes`, async () => {
      const refused = await removeEcc(inForce(status));
      assert.equal(refused.code, 2, refused.stderr);
      assertOneLineError(
        refused.stderr,
        new RegExp(
          `^error: not removing the ECDSA custom certificate of site 1234567: afterwards no unexpired certificate would cover the site's names: left would be only the RSA custom certificate, which Imperva reports ${status}, not ACTIVE or NEAR_EXPIRATION, and no certificate of Imperva's own covers them; add --force to remove it anyway$`,
        ),
      );
      assert.deepEqual(removals(world as World), []);
      await world?.close();
      const forced = await removeEcc(inForce(status), true);
      assert.equal(forced.code, 0, forced.stderr);
      assert.deepEqual(removals(world as World), ['ECC']);
    });
  }
  for (const status of ['ACTIVE', 'NEAR_EXPIRATION']) {
    it(`${status}: removed at once`, async () => {
      const done = await removeEcc(inForce(status));
      assert.equal(done.code, 0, done.stderr);
      assert.deepEqual(removals(world as World), ['ECC']);
    });
  }
});

describe('remove: an RSA entry that proves nothing does not count', () => {
  const unproven: [string, Record<string, unknown>][] = [
    ['no status and no expiry', {}],
    ['a null status and a null expiry', { status: null, expirationDate: null }],
    ['an empty status and an expiry that is not a number', { status: '', expirationDate: 'soon' }],
  ];
  for (const [what, fields] of unproven) {
    it(`${what}: refused, exit 2, nothing sent`, async () => {
      const refused = await removeEcc(fields);
      assert.equal(refused.code, 2, refused.stderr);
      assertOneLineError(
        refused.stderr,
        /^error: not removing the ECDSA custom certificate of site 1234567: afterwards no unexpired certificate would cover the site's names: left would be only the RSA custom certificate, which Imperva gives neither a status nor an expiry for, and no certificate of Imperva's own covers them; add --force to remove it anyway$/,
      );
      assert.deepEqual(removals(world as World), []);
    });
  }
  it('a lowercase revoked: refused, the status named as Imperva gave it', async () => {
    const refused = await removeEcc({ status: 'revoked', expirationDate: Date.now() + 60 * DAY });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /which Imperva reports "?revoked"?, not ACTIVE or NEAR_EXPIRATION/);
    assert.deepEqual(removals(world as World), []);
  });
  for (const [what, fields] of [
    ['a lowercase active', { status: 'active', expirationDate: Date.now() + 60 * DAY }],
    ['no status, an expiry 60 days ahead', { expirationDate: Date.now() + 60 * DAY }],
  ] as const) {
    it(`${what}: counts, removed`, async () => {
      const done = await removeEcc(fields);
      assert.equal(done.code, 0, done.stderr);
      assert.deepEqual(removals(world as World), ['ECC']);
    });
  }
});
