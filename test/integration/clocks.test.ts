/**
 * Clocks relative to the certificate (issue 22), through the built CLI with certificates issued relative to now:
 * the deferral limit (a quarter of the time left on what Imperva serves, between 1 hour and 1 day), the expiring
 * window (a sixth of the lifetime) and the verify grace (a hundredth of the lifetime, at least 1 hour).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeEdge } from '../support/fake-edge.js';
import { runCli } from '../support/harness.js';
import { uploadedElsewhere } from '../support/uploaded-elsewhere.js';
import { createPki, issueLeaf, type Leaf, type Pki } from '../support/pki.js';
import { createSyncWorld } from '../support/sync-world.js';
import { type World } from '../support/world.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SITE = '1001';

let pki: Pki;
const worlds: World[] = [];
const edges: FakeEdge[] = [];
before(async () => {
  pki = await createPki();
});
after(async () => {
  await Promise.all(edges.map((edge) => edge.close()));
  await Promise.all(worlds.map((world) => world.close()));
});

/** A 6-day certificate (Let's Encrypt's short-lived profile) with `left` ms to run. */
function sixDays(left: number): Promise<Leaf> {
  const notAfter = new Date(Date.now() + left);
  return issueLeaf(pki, {
    names: ['example.com'],
    notBefore: new Date(notAfter.getTime() - 6 * DAY),
    notAfter,
  });
}

async function setup(leaf: Leaf) {
  const made = await createSyncWorld([SITE], leaf);
  worlds.push(made.world);
  return made;
}

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();
const deferredLine = (since: string) =>
  new RegExp(`^error: site ${SITE} \\(example\\.com\\): deferred by every sync since ${since}; `, 'm');

describe('the deferral limit follows the time left on the certificate', () => {
  it('a 6-day certificate with 80 hours left: deferred 2 hours is still deferred; deferred 21 hours fails', async () => {
    const { world, rewrite, ran } = await setup(await sixDays(80 * HOUR));
    world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { status: 429, body: 'slow down' } });
    assert.equal((await runCli(['sync'], world.env)).code, 0);
    rewrite((entry) => (entry.unreachedSince = ago(2 * HOUR)));
    const early = await runCli(['sync'], world.env);
    assert.equal(early.code, 0, early.stderr);
    assert.doesNotMatch(early.stderr, /deferred by every sync/);
    assert.equal(ran(), false, 'onFailure ran for a site within its deferral limit');
    // A quarter of 80 hours is 20: deferred 21 hours (less than the day a 90-day certificate may wait) fails.
    const since = ago(21 * HOUR);
    rewrite((entry) => (entry.unreachedSince = since));
    const late = await runCli(['sync'], world.env);
    assert.equal(late.code, 1, late.stderr);
    assert.match(late.stderr, deferredLine(since));
    assert.match(late.stderr, /longer than 20 h, a quarter of the time left on the local certificate;/);
    assert.equal(ran(), true, 'onFailure did not run');
  });

  it('counts from the certificate Imperva serves when it runs out first', async () => {
    const { world, rewrite, ran } = await setup(await sixDays(80 * HOUR));
    // Imperva serves an older 6-day certificate with 8 hours left: the site may wait 2 hours, not 20.
    await uploadedElsewhere(world, SITE, await sixDays(8 * HOUR), 'ECC');
    world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { status: 429, body: 'slow down' } });
    assert.equal((await runCli(['sync'], world.env)).code, 0);
    rewrite((entry) => (entry.unreachedSince = ago(HOUR)));
    assert.equal((await runCli(['sync'], world.env)).code, 0);
    assert.equal(ran(), false);
    const since = ago(3 * HOUR);
    rewrite((entry) => (entry.unreachedSince = since));
    const late = await runCli(['sync'], world.env);
    assert.equal(late.code, 1, late.stderr);
    assert.match(late.stderr, deferredLine(since));
    assert.match(
      late.stderr,
      /longer than 2 h, a quarter of the time left on the certificate Imperva serves;/,
    );
    assert.equal(ran(), true, 'onFailure did not run');
  });
});

describe('the expiring window is a sixth of the lifetime', () => {
  // Imperva (and the fake) lists every certificate with less than 30 days left as NEAR_EXPIRATION: a 6-day one
  // from the day it is issued. That status alone is no problem; the state follows the certificate's own lifetime.
  it('a fresh 6-day certificate is healthy in status, and so is one with 36 hours left; one with 20 hours left is expiring', async () => {
    for (const [left, state, code] of [
      [6 * DAY - HOUR, 'current', 0],
      [36 * HOUR, 'current', 0],
      [20 * HOUR, 'expiring', 1],
    ] as const) {
      const { world } = await setup(await sixDays(left));
      const sync = await runCli(['sync'], world.env);
      assert.equal(sync.code, 0, sync.stderr);
      assert.equal(world.fake.acceptedUploads().length, 1);
      const status = await runCli(['status', '--json'], world.env);
      assert.equal(status.code, code, `${left / HOUR} h left: ${status.stdout}${status.stderr}`);
      const doc = JSON.parse(status.stdout) as { sites: { siteId: string; state: string }[] };
      assert.deepEqual(
        doc.sites.map((row) => [row.siteId, row.state]),
        [[SITE, state]],
        `${left / HOUR} h left`,
      );
    }
  });
});

describe('the verify grace is a hundredth of the lifetime, at least an hour', () => {
  it('a 90-day certificate is pending 20 hours after the upload, not after 22; a 45-day one 10, not 11.5; a 6-day one 0.5, not 2', async () => {
    for (const [leaf, pendingAt, staleAt] of [
      [await issueLeaf(pki, { names: ['example.com'] }), 20 * HOUR, 22 * HOUR],
      [
        await issueLeaf(pki, {
          names: ['example.com'],
          notBefore: new Date(Date.now() - HOUR),
          notAfter: new Date(Date.now() + 45 * DAY - HOUR),
        }),
        10 * HOUR,
        11.5 * HOUR,
      ],
      [await sixDays(6 * DAY - HOUR), 0.5 * HOUR, 2 * HOUR],
    ] as const) {
      const { world } = await setup(leaf);
      const edge = await FakeEdge.start({ imperva: world.fake, propagationMs: 600_000 });
      edges.push(edge);
      const env = { ...world.env, INCAP_CERT_EDGE: edge.address };
      assert.equal((await runCli(['sync'], env)).code, 0);
      const file = join(world.stateDir, 'delivered.json');
      const backdate = (ms: number) => {
        const record = JSON.parse(readFileSync(file, 'utf8')) as { deliveries: { at: string }[] };
        for (const one of record.deliveries) one.at = ago(ms);
        writeFileSync(file, JSON.stringify(record), { mode: 0o600 });
      };
      backdate(pendingAt);
      const soon = await runCli(['verify'], env);
      assert.equal(soon.code, 0, soon.stdout + soon.stderr);
      assert.match(soon.stdout, /^site 1001 \(example\.com\) (ECDSA|ECC): pending: uploaded at /m);
      backdate(staleAt);
      const late = await runCli(['verify'], env);
      assert.equal(late.code, 1, late.stdout);
      // Past the grace, what the edge still serves is a problem: stale, or wrong when it outlives ours.
      assert.match(late.stderr, /^error: site 1001 \(example\.com\) (ECDSA|ECC): (stale|wrong): /m);
      assert.doesNotMatch(late.stdout, /pending/);
    }
  });
});
