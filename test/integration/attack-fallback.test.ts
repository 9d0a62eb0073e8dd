/**
 * `remove` counts Imperva's own certificate as what would be left. Where the account-wide listing fails, it reads
 * the site's `sites/status` `generated_certificate`, whose `validation_status` values Imperva documents only in
 * part: a status that says the certificate is not (yet) validated must not count, or a removal leaves the site with
 * no certificate at all.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

const SITE = '1234567';
let leaf: Leaf;
let both: Leaf;
before(async () => {
  const pki = await createPki();
  leaf = await issueLeaf(pki, { names: ['example.com'], keyType: 'ec' });
  both = await issueLeaf(pki, { names: ['example.com', 'www.example.com'], keyType: 'ec' });
});
let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

/** The site holds only an ECDSA certificate this host no longer deploys; the listing of Imperva's own fails. */
async function onlyEcc(validationStatus: string): Promise<{ w: World; empty: string }> {
  const w = await createWorld({ sites: { [SITE]: 'example.com' }, map: { 'example.com': Number(SITE) } });
  world = w;
  writeCertbotLineage(join(w.dir, 'le'), 'example.com', leaf);
  assert.equal((await runCli(['sync', '--live-dir', join(w.dir, 'le', 'live')], w.env)).code, 0);
  w.fake.ownListing = 403;
  w.fake.inject({
    endpoint: 'status',
    times: Infinity,
    fault: {
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({
        res: 0,
        res_message: 'OK',
        site_id: Number(SITE),
        domain: 'example.com',
        ssl: {
          generated_certificate: {
            ca: 'globalsign',
            validation_method: 'dns',
            validation_data: [],
            san: ['example.com'],
            validation_status: validationStatus,
          },
        },
      }),
    },
  });
  const empty = join(w.dir, 'empty-live');
  mkdirSync(empty, { recursive: true });
  return { w, empty };
}

describe("remove, judging Imperva's own certificate by sites/status", () => {
  for (const status of ['in_process', 'unvalidated', 'not_validated', 'waiting_for_validation', 'new', '']) {
    it(`validation_status "${status}" is no fallback: refused, nothing removed`, async () => {
      const { w, empty } = await onlyEcc(status);
      const result = await runCli(
        ['remove', '--site-id', SITE, '--auth-type', 'ECC', '--live-dir', empty],
        w.env,
      );
      assert.equal(result.code, 2, result.stdout + result.stderr);
      assert.match(result.stderr, /no certificate of Imperva's own covers them; add --force/);
      assert.deepEqual(w.fake.requestsTo('remove'), []);
    });
  }

  it('validation_status "done" is one: removed', async () => {
    const { w, empty } = await onlyEcc('done');
    const result = await runCli(
      ['remove', '--site-id', SITE, '--auth-type', 'ECC', '--live-dir', empty],
      w.env,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(w.fake.acceptedRemovals().length, 1);
  });
});

describe("remove, judging Imperva's own certificate by the account-wide listing", () => {
  /** The listing holds one certificate of Imperva's own, covering the site's name, without saying which sites. */
  async function listed(sitesIds: unknown): Promise<{ w: World; empty: string }> {
    const { w, empty } = await onlyEcc('done');
    w.fake.clearFaults();
    w.fake.ownListing = 'ok';
    const san: Record<string, unknown> = { sanId: 1, sanValue: '*.com', status: 'VALIDATED' };
    const wide: Record<string, unknown> = { sanId: 2, sanValue: 'example.com', status: 'VALIDATED' };
    if (sitesIds !== undefined) {
      san.sitesIds = sitesIds;
      wide.sitesIds = sitesIds;
    }
    w.fake.inject({
      endpoint: 'own-certificates',
      times: Infinity,
      fault: {
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          data: [
            { id: 9, name: 'ATLAS_9', type: 'ATLAS', status: 'ACTIVE', level: 'ACCOUNT', sans: [san, wide] },
          ],
        }),
      },
    });
    return { w, empty };
  }

  it('a name that says no site (no sitesIds) is no fallback for this site: refused', async () => {
    const { w, empty } = await listed(undefined);
    const result = await runCli(
      ['remove', '--site-id', SITE, '--auth-type', 'ECC', '--live-dir', empty],
      w.env,
    );
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.deepEqual(w.fake.requestsTo('remove'), []);
  });

  it('a name for another site is no fallback for this one: refused', async () => {
    const { w, empty } = await listed([7654321]);
    const result = await runCli(
      ['remove', '--site-id', SITE, '--auth-type', 'ECC', '--live-dir', empty],
      w.env,
    );
    assert.equal(result.code, 2, result.stdout + result.stderr);
    assert.deepEqual(w.fake.requestsTo('remove'), []);
  });

  it('a name for this site is one: removed', async () => {
    const { w, empty } = await listed([Number(SITE)]);
    const result = await runCli(
      ['remove', '--site-id', SITE, '--auth-type', 'ECC', '--live-dir', empty],
      w.env,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(w.fake.acceptedRemovals().length, 1);
  });
});

describe("status: Imperva's own certificate, name by name", () => {
  /** One site answering for two names, both mapped to it, our certificate current there. */
  async function twoNames(): Promise<{ w: World; live: string }> {
    const w = await createWorld({
      sites: { [SITE]: 'example.com' },
      map: { 'example.com': Number(SITE), 'www.example.com': Number(SITE) },
      config: { ari: false },
    });
    world = w;
    writeCertbotLineage(join(w.dir, 'le'), 'example.com', both);
    const live = join(w.dir, 'le', 'live');
    assert.equal((await runCli(['sync', '--live-dir', live], w.env)).code, 0);
    return { w, live };
  }
  async function fallbackOf(w: World, live: string): Promise<string> {
    const result = await runCli(['status', '--json', '--live-dir', live], w.env);
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout) as { findings: { kind: string; message: string }[] };
    return doc.findings.find((finding) => finding.kind === 'fallback')?.message ?? '';
  }
  const cases: [string, { status: string; names?: string[]; validated?: boolean }, boolean][] = [
    ['a wildcard and the apex', { status: 'ACTIVE', names: ['*.example.com', 'example.com'] }, true],
    ['a SAN list missing one name', { status: 'ACTIVE', names: ['example.com'] }, false],
    ['a wildcard alone (not the apex)', { status: 'ACTIVE', names: ['*.example.com'] }, false],
    [
      'a wildcard one label too deep',
      { status: 'ACTIVE', names: ['*.www.example.com', 'example.com'] },
      false,
    ],
    ['REVOKED', { status: 'REVOKED', names: ['example.com', 'www.example.com'] }, false],
    ['EXPIRED', { status: 'EXPIRED', names: ['example.com', 'www.example.com'] }, false],
    [
      'names pending validation',
      { status: 'ACTIVE', names: ['example.com', 'www.example.com'], validated: false },
      false,
    ],
  ];
  for (const [what, own, covers] of cases)
    it(`${what}: ${covers ? 'a fallback' : 'no fallback'}`, async () => {
      const { w, live } = await twoNames();
      w.fake.own.set(SITE, own);
      const message = await fallbackOf(w, live);
      if (covers) assert.match(message, /Imperva's own certificate covers its names/);
      else assert.match(message, /no certificate of Imperva's own covers its names/);
    });
});
