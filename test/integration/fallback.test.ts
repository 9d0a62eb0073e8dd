/**
 * The fallback is known (issue "Ready for short-lived certificates"): per site, whether Imperva's own certificate
 * exists and covers the site's names, from one account-wide listing a run (sites/status `generated_certificate` only
 * where it fails). status: a site without one is a note (exit unchanged), an outage in waiting where our own
 * certificate is also expiring, missing or outdated (exit 1). remove counts it as what would be left. Through the
 * built CLI, against the fake API.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Finding } from '../../src/model/finding.js';
import { runCli, writeConfig } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { API_ID, createWorld, type World } from '../support/world.js';

const SITES = { '1001': 'a.example.com', '1002': 'b.example.com', '1003': 'c.example.com' };
let leaf: Leaf;
let ecc: Leaf;
before(async () => {
  const pki = await createPki();
  leaf = await issueLeaf(pki, { names: Object.values(SITES), keyType: 'ec' });
  ecc = await issueLeaf(pki, { names: ['a.example.com'], keyType: 'ec' });
});

let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

async function newWorld(): Promise<{ w: World; live: string }> {
  const w = await createWorld({
    sites: SITES,
    map: Object.fromEntries(Object.entries(SITES).map(([id, name]) => [name, Number(id)])),
  });
  world = w;
  const config = JSON.parse(readFileSync(w.configFile, 'utf8')) as Record<string, unknown>;
  writeConfig(w.dir, { ...config, ari: false });
  return { w, live: join(w.dir, 'le', 'live') };
}

/** Every site serves our certificate (a sync delivered it). */
async function delivered(): Promise<{ w: World; live: string }> {
  const { w, live } = await newWorld();
  writeCertbotLineage(join(w.dir, 'le'), 'all', leaf);
  const sync = await runCli(['sync', '--live-dir', live], w.env);
  assert.equal(sync.code, 0, sync.stderr);
  w.fake.requests.length = 0;
  return { w, live };
}

async function statusJson(w: World, live: string) {
  const result = await runCli(['status', '--json', '--live-dir', live], w.env);
  const doc = JSON.parse(result.stdout) as { findings: Finding[] };
  return { ...result, fallback: doc.findings.filter((finding) => finding.kind === 'fallback') };
}

describe('status: the fallback of each site', () => {
  it('every site covered: exit 0, no line, one listing for all sites and no sites/status', async () => {
    const { w, live } = await delivered();
    const result = await runCli(['status', '--live-dir', live], w.env);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout + result.stderr, /fallback|Imperva's own/);
    assert.equal(w.fake.requestsTo('own-certificates').length, 1);
    assert.equal(w.fake.requestsTo('own-certificates')[0]?.query.certType, 'ATLAS');
    assert.equal(w.fake.requestsTo('status').length, 0);
    const { fallback } = await statusJson(w, live);
    assert.deepEqual(
      fallback.map((finding) => [finding.subject, finding.ok]),
      [
        ['1001', true],
        ['1002', true],
        ['1003', true],
      ],
    );
  });

  it('no own certificate, or one that does not serve the names, while ours is current: a note, exit 0', async () => {
    const { w, live } = await delivered();
    w.fake.own.delete('1001');
    w.fake.own.set('1002', { status: 'ACTIVE', validated: false });
    w.fake.own.set('1003', { status: 'ACTIVE', names: ['other.example.com'] });
    const result = await runCli(['status', '--live-dir', live], w.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.match(
      result.stdout,
      /^note: no certificate of Imperva's own covers these 3 sites, so nothing serves them if ours is removed or lapses: site 1001 \(a\.example\.com\), site 1002 \(b\.example\.com\), site 1003 \(c\.example\.com\)$/m,
    );
    const json = await statusJson(w, live);
    assert.equal(json.code, 0);
    assert.ok(
      json.fallback.every((finding) => finding.ok && /no certificate of Imperva's own/.test(finding.message)),
    );
  });

  it("Imperva's own certificate being issued (IN_PROCESS) is no fallback; NEAR_EXPIRATION is one", async () => {
    const { w, live } = await delivered();
    w.fake.own.set('1001', { status: 'IN_PROCESS' });
    w.fake.own.set('1002', { status: 'NEAR_EXPIRATION' });
    const result = await runCli(['status', '--live-dir', live], w.env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^note: no certificate of Imperva's own covers this site, .*: site 1001 \(a\.example\.com\)$/m,
    );
  });

  it('no fallback where ours is missing: named as an outage in waiting, exit 1; a covered site is not', async () => {
    const { w, live } = await newWorld();
    writeCertbotLineage(join(w.dir, 'le'), 'all', leaf);
    w.fake.own.delete('1001');
    const result = await runCli(['status', '--live-dir', live], w.env);
    assert.equal(result.code, 1);
    const lines = result.stderr.split('\n').filter((line) => /outage in waiting/.test(line));
    assert.equal(lines.length, 1, result.stderr);
    assert.match(
      lines[0] ?? '',
      /^error: site 1001 \(a\.example\.com\): outage in waiting: our (ECDSA|ECC) certificate is missing, and no certificate of Imperva's own covers its names; fix: incap-cert sync/,
    );
    const json = await statusJson(w, live);
    assert.deepEqual(
      json.fallback.filter((finding) => !finding.ok).map((finding) => finding.subject),
      ['1001'],
    );
  });

  it('the listing fails: each site is judged by sites/status generated_certificate instead', async () => {
    const { w, live } = await delivered();
    w.fake.ownListing = 403;
    w.fake.own.delete('1003');
    const result = await runCli(['status', '--live-dir', live], w.env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^note: no certificate of Imperva's own covers this site, .*: site 1003 \(c\.example\.com\)$/m,
    );
    assert.equal(w.fake.requestsTo('own-certificates').length, 1);
    assert.deepEqual(
      w.fake
        .requestsTo('status')
        .map((request) => request.siteId)
        .sort(),
      ['1001', '1002', '1003'],
    );
  });

  it('the listing answers HTTP 500: retried, then sites/status; an unvalidated generated certificate is no fallback', async () => {
    const { w, live } = await newWorld();
    writeCertbotLineage(join(w.dir, 'le'), 'all', leaf);
    w.fake.ownListing = 500;
    w.fake.own.set('1002', { status: 'ACTIVE', validated: false });
    const result = await runCli(['status', '--live-dir', live], w.env);
    assert.equal(result.code, 1);
    const lines = result.stderr.split('\n').filter((line) => /outage in waiting/.test(line));
    assert.deepEqual(
      lines.map((line) => /site (\d+)/.exec(line)?.[1]),
      ['1002'],
    );
    assert.ok(w.fake.requestsTo('own-certificates').length >= 2, 'a server error is retried');
  });
});

describe('remove counts the fallback as what would be left', () => {
  async function onlyEcc(): Promise<{ w: World; empty: string }> {
    const { w } = await newWorld();
    const response = await fetch(`${w.fake.url}/api/prov/v1/sites/customCertificate/upload`, {
      method: 'POST',
      headers: {
        'x-API-Id': API_ID,
        'x-API-Key': w.apiKey,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({
        site_id: '1001',
        certificate: Buffer.from(ecc.fullchainPem).toString('base64'),
        private_key: Buffer.from(ecc.keyPem).toString('base64'),
        auth_type: 'ECC',
      }),
    });
    assert.equal(((await response.json()) as { res: number }).res, 0);
    const empty = join(w.dir, 'empty-live');
    mkdirSync(empty, { recursive: true });
    return { w, empty };
  }

  it("only Imperva's own certificate would be left, covering the names: removed", async () => {
    const { w, empty } = await onlyEcc();
    const result = await runCli(
      ['remove', '--site-id', '1001', '--auth-type', 'ECC', '--live-dir', empty],
      w.env,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /Imperva's own certificate serves its names \(a\.example\.com\)/);
    assert.deepEqual(
      w.fake.acceptedRemovals().map((request) => [request.form.site_id, request.form.auth_type]),
      [['1001', 'ECC']],
    );
  });

  it("Imperva's own certificate does not cover the names: refused as before, saying so", async () => {
    const { w, empty } = await onlyEcc();
    w.fake.own.set('1001', { status: 'ACTIVE', names: ['*.other.example.com'] });
    const result = await runCli(
      ['remove', '--site-id', '1001', '--auth-type', 'ECC', '--live-dir', empty],
      w.env,
    );
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /^error: not removing the ECDSA custom certificate of site 1001: afterwards no unexpired certificate would cover the site's names: left would be no other custom certificate, and no certificate of Imperva's own covers them; add --force to remove it anyway$/m,
    );
    assert.deepEqual(w.fake.requestsTo('remove'), []);
  });
});
