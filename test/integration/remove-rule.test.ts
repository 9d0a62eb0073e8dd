/**
 * One rule for removing (issue "Imperva as it really answers"): without --force, `remove` sends nothing while what
 * this host deploys is unknown (a live or sources folder it cannot read) and when afterwards no unexpired
 * certificate would cover the site (an expired or EXPIRED other key type, duplicate entries of the one removed),
 * and the line says what would be left. Every removal request carries auth_type. Through the built CLI.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runCli, writeConfig } from '../support/harness.js';
import { uploadedElsewhere } from '../support/uploaded-elsewhere.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { assertOneLineError, createWorld, type World } from '../support/world.js';

const DAY = 86_400_000;
const SITE = '1234567';
let rsa: Leaf;
let ecc: Leaf;
let expiredRsa: Leaf;
before(async () => {
  const pki = await createPki();
  [rsa, ecc, expiredRsa] = await Promise.all([
    issueLeaf(pki, { names: ['example.com'], keyType: 'rsa' }),
    issueLeaf(pki, { names: ['example.com'], keyType: 'ec' }),
    issueLeaf(pki, {
      names: ['example.com'],
      keyType: 'rsa',
      notBefore: new Date(Date.now() - 100 * DAY),
      notAfter: new Date(Date.now() - DAY),
    }),
  ]);
});

let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

async function newWorld(config: Record<string, unknown> = {}): Promise<World> {
  world = await createWorld({
    sites: { [SITE]: 'example.com' },
    map: { 'example.com': Number(SITE) },
    config,
  });
  return world;
}

function emptyFolder(w: World, name = 'empty-live'): string {
  const dir = join(w.dir, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function removals(w: World): [string | undefined, string | undefined][] {
  return w.fake.requestsTo('remove').map((request) => [request.form.site_id, request.form.auth_type]);
}

describe('remove while what this host deploys is unknown', () => {
  it('a mistyped --live-dir: exit 2, one line, nothing sent — the certificate this host deploys stays', async () => {
    const w = await newWorld();
    const lineage = writeCertbotLineage(join(w.dir, 'le'), 'example.com', ecc);
    assert.equal((await runCli(['deploy'], { ...w.env, RENEWED_LINEAGE: lineage })).code, 0);
    await uploadedElsewhere(w, SITE, rsa, 'RSA');
    const before = w.fake.requests.length;
    const wrong = join(w.dir, 'le', 'liv');
    const result = await runCli(
      ['remove', '--site-id', SITE, '--auth-type', 'ECC', '--live-dir', wrong],
      w.env,
    );
    assert.equal(result.code, 2);
    assertOneLineError(
      result.stderr,
      new RegExp(
        `^error: not removing the ECDSA custom certificate of site ${SITE}: the live folder cannot be read ` +
          `\\(no lineages read from ${wrong} \\(ENOENT\\)\\), so what this host deploys is unknown .*; add --force to remove it anyway$`,
      ),
    );
    assert.equal(w.fake.requests.length, before, 'nothing sent');
    assert.equal(w.fake.serving(SITE, 'ECC')?.fingerprint, ecc.fingerprint);
  });

  it('a mistyped liveDir in the config: the same refusal; --force removes, with auth_type', async () => {
    const w = await newWorld({ liveDir: '/nonexistent/letsencrypt/live' });
    await uploadedElsewhere(w, SITE, rsa, 'RSA');
    await uploadedElsewhere(w, SITE, ecc, 'ECC');
    const refused = await runCli(['remove', '--site-id', SITE, '--auth-type', 'ECC'], w.env);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /: the live folder cannot be read \(no lineages read from \/nonexistent\//);
    assert.deepEqual(removals(w), []);
    const forced = await runCli(['remove', '--site-id', SITE, '--auth-type', 'ECC', '--force'], w.env);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(removals(w), [[SITE, 'ECC']]);
    assert.equal(w.fake.serving(SITE, 'ECC'), undefined);
  });

  it('a sources folder that cannot be read: refused, naming it; the default live folder is then not required', async () => {
    const missing = '/nonexistent/lego';
    const w = await newWorld({ sources: { lego: [missing] } });
    await uploadedElsewhere(w, SITE, rsa, 'RSA');
    await uploadedElsewhere(w, SITE, ecc, 'ECC');
    const refused = await runCli(['remove', '--site-id', SITE, '--auth-type', 'ECC'], w.env);
    assert.equal(refused.code, 2);
    assertOneLineError(
      refused.stderr,
      /^error: not removing the ECDSA custom certificate of site 1234567: what this host deploys is unknown: lego folder \/nonexistent\/lego \(config sources\) does not exist; add --force/,
    );
    assert.deepEqual(removals(w), []);
    // With the lego folder there (and holding nothing), the default live folder's absence is no reason to refuse.
    const config = JSON.parse(readFileSync(w.configFile, 'utf8')) as Record<string, unknown>;
    writeConfig(w.dir, { ...config, sources: { lego: [emptyFolder(w, 'lego')] } });
    const done = await runCli(['remove', '--site-id', SITE, '--auth-type', 'ECC'], w.env);
    assert.equal(done.code, 0, done.stderr);
    assert.deepEqual(removals(w), [[SITE, 'ECC']]);
  });
});

describe('remove when nothing unexpired would be left', () => {
  it('only an expired (EXPIRED) other key type would remain: refused, saying so; --force removes', async () => {
    const w = await newWorld();
    // Nor has the site a certificate of Imperva's own to fall back on (test/integration/fallback.test.ts).
    w.fake.own.delete(SITE);
    await uploadedElsewhere(w, SITE, expiredRsa, 'RSA');
    await uploadedElsewhere(w, SITE, ecc, 'ECC');
    const live = emptyFolder(w);
    const refused = await runCli(
      ['remove', '--site-id', SITE, '--auth-type', 'ECC', '--live-dir', live],
      w.env,
    );
    assert.equal(refused.code, 2);
    assertOneLineError(
      refused.stderr,
      /^error: not removing the ECDSA custom certificate of site 1234567: afterwards no unexpired certificate would cover the site's names: left would be only the RSA custom certificate, which Imperva reports EXPIRED on \d{4}-\d\d-\d\dT[\d:.]+Z, and no certificate of Imperva's own covers them; add --force to remove it anyway$/,
    );
    assert.deepEqual(removals(w), []);
    const forced = await runCli(
      ['remove', '--site-id', SITE, '--auth-type', 'ECC', '--live-dir', live, '--force'],
      w.env,
    );
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(removals(w), [[SITE, 'ECC']]);
  });

  it('an unexpired other key type would remain: removed at once, with auth_type', async () => {
    const w = await newWorld();
    await uploadedElsewhere(w, SITE, rsa, 'RSA');
    await uploadedElsewhere(w, SITE, ecc, 'ECC');
    const live = emptyFolder(w);
    const done = await runCli(['remove', '--site-id', SITE, '--auth-type', 'ECC', '--live-dir', live], w.env);
    assert.equal(done.code, 0, done.stderr);
    assert.match(done.stdout, /^removed the ECDSA custom certificate of site 1234567 \(Imperva: OK\)$/m);
    assert.deepEqual(removals(w), [[SITE, 'ECC']]);
    assert.equal(w.fake.serving(SITE, 'RSA')?.fingerprint, rsa.fingerprint);
  });

  it('the key type listed twice is one certificate: refused as the only one', async () => {
    const w = await newWorld();
    w.fake.own.delete(SITE);
    await uploadedElsewhere(w, SITE, rsa, 'RSA');
    const entry = {
      id: 1,
      type: 'CUSTOM_CERT',
      status: 'ACTIVE',
      authType: 'RSA',
      expirationDate: Date.now() + 60 * DAY,
      extSiteId: Number(SITE),
      level: 'SITE',
      customCertificateDetails: { fingerprint: '', serialNumber: '', hasMismatchSite: false },
    };
    w.fake.inject({
      endpoint: 'certificates',
      fault: {
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({ data: [entry, { ...entry, id: 2 }] }),
      },
    });
    const live = emptyFolder(w);
    const refused = await runCli(
      ['remove', '--site-id', SITE, '--auth-type', 'RSA', '--live-dir', live],
      w.env,
    );
    assert.equal(refused.code, 2);
    assertOneLineError(
      refused.stderr,
      /^error: not removing the RSA custom certificate of site 1234567: afterwards no unexpired certificate would cover the site's names: left would be no other custom certificate/,
    );
    assert.deepEqual(removals(w), []);
    assert.equal(w.fake.serving(SITE, 'RSA')?.fingerprint, rsa.fingerprint);
  });
});
