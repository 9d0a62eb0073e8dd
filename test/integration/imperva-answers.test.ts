/**
 * Imperva as it really answers (docs/imperva-api.md): flagged uploads, the refusals only the operator can mend, v3
 * errors in every shape, a transient v3 401, legacy entries and Imperva's own certificates in listings, an unknown
 * site id — through the built CLI against the fake API.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, before, describe, it } from 'node:test';
import { v3Fault } from '../support/fake-imperva.js';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
});
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

const queued = (w: World): { siteId: string }[] =>
  (JSON.parse(readFileSync(w.queueFile, 'utf8')) as { entries: { siteId: string }[] }).entries;

async function pushed(): Promise<{ w: World; lineage: string }> {
  world = await createWorld({ sites: { '1234567': 'example.com' }, map: { 'example.com': 1234567 } });
  const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
  const push = await runCli(['push', '--lineage', lineage], world.env);
  assert.equal(push.code, 0, push.stderr);
  return { w: world, lineage };
}

describe('flags on a successful upload are failures', () => {
  for (const flag of ['coverageError', 'hostnameMismatchError'] as const) {
    it(`${flag}: the site fails, named, and is queued`, async () => {
      world = await createWorld({
        sites: { '1234567': 'shop.example.com' },
        map: { 'example.com': 1234567 },
      });
      world.fake.coverageFlag = flag;
      const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
      const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        /^error: site 1234567 \(example\.com\): upload failed: Imperva stored the certificate but flags it: the certificate does not cover the site's names at Imperva \(coverageError\): issue one that covers them$/m,
      );
      assert.deepEqual(
        queued(world).map((entry) => entry.siteId),
        ['1234567'],
      );
    });
  }

  it('chainError: the site fails, naming the chain', async () => {
    world = await createWorld({ sites: { '1234567': 'example.com' }, map: { 'example.com': 1234567 } });
    world.fake.inject({
      endpoint: 'upload',
      fault: {
        contentType: 'application/json',
        body: JSON.stringify({ res: '0', res_message: 'OK', debug_info: { details: { chainError: true } } }),
      },
    });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const result = await runCli(['push', '--lineage', lineage], world.env);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /upload failed: Imperva stored the certificate but flags it: the chain is incomplete/,
    );
  });
});

describe('refusals that say what to do', () => {
  const fixes: [number, RegExp][] = [
    [4205, /turn on SSL for the site/],
    [9414, /plan has no custom certificates/],
    [9415, /not allowed on this account type/],
  ];
  for (const [res, fix] of fixes) {
    it(`res ${res}: one try, the fix named, queued`, async () => {
      world = await createWorld({ sites: { '1234567': 'example.com' }, map: { 'example.com': 1234567 } });
      world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { res } });
      const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
      const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
      assert.equal(result.code, 1);
      assert.match(result.stderr, fix);
      assert.equal(world.fake.uploads().length, 1);
      assert.deepEqual(
        queued(world).map((entry) => entry.siteId),
        ['1234567'],
      );
    });
  }
});

describe('one line per refusal cause', () => {
  it('seven sites without SSL: one line naming the fix and the first five, each site with -v', async () => {
    const sites: Record<string, string> = {};
    const map: Record<string, number> = {};
    const names: string[] = [];
    for (let index = 1; index <= 7; index += 1) {
      sites[String(100 + index)] = `a${index}.example.com`;
      map[`a${index}.example.com`] = 100 + index;
      names.push(`a${index}.example.com`);
    }
    world = await createWorld({ sites, map, config: { concurrency: 2 } });
    world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { res: 4205 } });
    const many = await issueLeaf(await createPki(), { names });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'a1.example.com', many);
    const result = await runCli(['deploy', '-v'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      'error: upload failed for 7 sites: Imperva answered res 4205 (the site has no SSL support: turn on SSL for ' +
        "the site in Imperva's console first): site 101 (a1.example.com), site 102 (a2.example.com), " +
        'site 103 (a3.example.com), site 104 (a4.example.com), site 105 (a5.example.com) and 2 more; queued for sync\n',
    );
    for (const name of names)
      assert.match(
        result.stdout,
        new RegExp(`^debug: site \\d+ \\(${name}\\): upload failed: .*res 4205`, 'm'),
      );
    assert.equal(world.fake.uploads().length, 7);
    assert.equal(queued(world).length, 7);
  });
});

describe('v3 as it really answers', () => {
  it('a v3 401 once: retried, and sync finds the site current', async () => {
    const { w } = await pushed();
    w.fake.inject({ endpoint: 'certificates', fault: v3Fault('401') });
    const sync = await runCli(['sync', '--live-dir', join(w.dir, 'le', 'live')], w.env);
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stdout, /sync: 1 current, 0 uploaded, 0 failed/);
    assert.equal(w.fake.requestsTo('certificates').length, 2);
    assert.equal(w.fake.uploads().length, 1);
  });

  it('v3 refusing (401) while v1 works: sync reads v1 and still uploads', async () => {
    world = await createWorld({ sites: { '1234567': 'example.com' }, map: { 'example.com': 1234567 } });
    world.fake.inject({ endpoint: 'certificates', times: Infinity, fault: v3Fault('401') });
    writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const sync = await runCli(['sync', '--live-dir', join(world.dir, 'le', 'live')], world.env);
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stdout, /uploaded example\.com → site 1234567/);
    assert.equal(world.fake.serving('1234567')?.fingerprint, leaf.fingerprint);
  });

  for (const kind of ['200', '400', '500'] as const) {
    it(`v3 errors with HTTP ${kind} are read as errors, not "no certificates": no upload again`, async () => {
      const { w } = await pushed();
      w.fake.inject({ endpoint: 'certificates', times: Infinity, fault: v3Fault(kind) });
      const sync = await runCli(['sync', '--live-dir', join(w.dir, 'le', 'live')], w.env);
      assert.equal(sync.code, 0, sync.stderr);
      assert.match(sync.stdout, /sync: 1 current, 0 uploaded, 0 failed/);
      assert.equal(w.fake.uploads().length, 1);
    });
  }

  it('legacy entries (no fingerprint, no serial) are judged by what is left: no upload loop', async () => {
    const { w } = await pushed();
    w.fake.v3Legacy = true;
    const sync = await runCli(['sync', '--live-dir', join(w.dir, 'le', 'live')], w.env);
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stdout, /sync: 1 current, 0 uploaded, 0 failed/);
    assert.equal(w.fake.uploads().length, 1);
  });

  it("Imperva's own certificate in a per-site listing is not the site's custom certificate", async () => {
    world = await createWorld({ sites: { '1234567': 'example.com' }, map: { 'example.com': 1234567 } });
    world.fake.v3OwnCertificates = true;
    world.fake.v3AccountWide = 400;
    const check = await runCli(['check', '-v', '--live-dir', join(world.dir, 'none')], world.env);
    assert.match(
      check.stdout,
      /^debug: site 1234567 \(example\.com\): no certificate on this host covers it; nothing keeps it current; Imperva holds no custom certificate$/m,
    );
  });
});

describe('an unknown site id (9413)', () => {
  it('remove exits 2 naming the site id, and removes nothing', async () => {
    world = await createWorld({ sites: { '1234567': 'example.com' }, map: { 'example.com': 1234567 } });
    // An empty live folder, not a missing one: remove refuses while it cannot read what this host deploys.
    const empty = join(world.dir, 'empty');
    mkdirSync(empty);
    const result = await runCli(
      ['remove', '--site-id', '999', '--auth-type', 'RSA', '--live-dir', empty],
      world.env,
    );
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /--site-id 999: Imperva does not know this site id.*res 9413/);
    assert.equal(world.fake.requestsTo('remove').length, 0);
  });

  it('check reports it and exits 1, instead of "holds no custom certificate"', async () => {
    world = await createWorld({
      sites: { '1234567': 'example.com' },
      map: { 'example.com': 1234567, 'www.example.com': 999 },
    });
    const result = await runCli(['check', '--live-dir', join(world.dir, 'none')], world.env);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /site 999 \(www\.example\.com\): unknown site id/);
    assert.doesNotMatch(result.stdout, /site 999 .*holds no custom certificate/);
  });
});
