/**
 * Issue 11 (a sync's deadline defers, a day of deferral fails): the day-long clock and starvation.
 * - A site the deadline keeps deferring must keep failing once deferred for more than a day, not fail once and then
 *   fall silent (its queue entry turned 'failed', and a failed entry's deferrals were not counted).
 * - A site that failed and is then deferred by every sync for more than a day is a failure too.
 * - A failed site must not starve behind the sites each run defers (it ranked after every deferred one).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, type Leaf } from '../support/pki.js';
import { agePace } from '../support/shared-pace.js';
import { createSyncWorld } from '../support/sync-world.js';
import type { World } from '../support/world.js';

let leaf: Leaf;
const worlds: World[] = [];
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
});
after(() => Promise.all(worlds.map((world) => world.close())));

async function setup(sites: readonly string[], config: Record<string, unknown>) {
  const made = await createSyncWorld(sites, leaf, config);
  worlds.push(made.world);
  return made;
}

const TWO_DAYS_AGO = () => new Date(Date.now() - 2 * 86_400_000).toISOString();

describe('deferred for more than a day', () => {
  it('a site deferred for more than a day keeps failing while the deadline keeps deferring it', async () => {
    const sites = ['1001', '1002'];
    const { world, queued, rewrite, ran } = await setup(sites, {});
    world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { status: 429, body: 'slow down' } });
    const first = await runCli(['sync'], world.env);
    assert.equal(first.code, 0, first.stderr);
    const since = TWO_DAYS_AGO();
    rewrite((entry) => (entry.unreachedSince = since));
    const second = await runCli(['sync'], world.env);
    assert.equal(second.code, 1, second.stderr);
    assert.equal(ran(), true, 'onFailure did not run');
    // Still not reached: deferred since two days, still a failure (it was: exit 0, no onFailure, nothing said).
    const third = await runCli(['sync'], world.env);
    assert.equal(third.code, 1, third.stderr);
    for (const id of sites)
      assert.match(
        third.stderr,
        new RegExp(`^error: site ${id} \\(example\\.com\\): deferred by every sync since ${since}; `, 'm'),
      );
    assert.equal(ran(), true, 'onFailure did not run');
    assert.deepEqual(
      queued().map((entry) => [entry.siteId, entry.state]),
      sites.map((id) => [id, 'failed']),
    );
    // Delivered: the clock is gone with the entry.
    world.fake.clearFaults();
    agePace(world.stateDir);
    const fourth = await runCli(['sync'], world.env);
    assert.equal(fourth.code, 0, fourth.stderr);
    assert.deepEqual(queued(), []);
    assert.equal(ran(), false);
  });

  it('a site that failed, then was deferred by every sync for more than a day, is a failure', async () => {
    const sites = ['1001', '1002', '1003'];
    const { world, queued, rewrite, ran } = await setup(sites, { retryDelaySeconds: 30 });
    world.fake.inject({ endpoint: 'upload', siteId: '1002', times: 1, fault: { status: 500, body: 'down' } });
    const first = await runCli(['sync'], world.env);
    assert.equal(first.code, 1, first.stderr);
    assert.equal(ran(), true);
    // Every sync since: Imperva throttles the site until the deadline (not reached: deferred, quietly, for now).
    world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { status: 429, body: 'slow down' } });
    const second = await runCli(['sync'], world.env);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /, 1 deferred to the next sync/);
    assert.equal(ran(), false);
    // ... for two days: the failure was two days ago, and no sync since reached the site.
    const failedAt = TWO_DAYS_AGO();
    rewrite((entry) => {
      entry.since = failedAt;
      entry.firstFailure = failedAt;
      entry.lastFailure = failedAt;
      entry.unreachedSince = failedAt;
    });
    const third = await runCli(['sync'], world.env);
    assert.equal(third.code, 1, third.stderr);
    assert.match(
      third.stderr,
      new RegExp(`^error: site 1002 \\(example\\.com\\): deferred by every sync since ${failedAt}; `, 'm'),
    );
    assert.equal(ran(), true, 'onFailure did not run');
    assert.deepEqual(
      queued().map((entry) => [entry.siteId, entry.state]),
      [['1002', 'failed']],
    );
  });
});

describe('no site starves', () => {
  it('a failed site is reached though every run defers more sites than it can reach (v1, rate-limited)', async () => {
    // Twelve sites, judged by v1 sites/status (one call each, every run); Imperva grants four requests a run.
    const sites = Array.from({ length: 12 }, (_, index) => String(1001 + index));
    const { world, queued } = await setup(sites, { concurrency: 1, retryDelaySeconds: 30 });
    world.fake.v3 = 404;
    // Two more for the key's proof and record, asked first every run (test/integration/api-key.test.ts).
    const grant = () => world.fake.setRateLimit({ perSecond: 0.001, burst: 4 + 2 });
    // The first run: 1001 fails for real (500, no time to retry), 1002 is served, the rest are deferred.
    world.fake.inject({ endpoint: 'upload', siteId: '1001', times: 1, fault: { status: 500, body: 'down' } });
    grant();
    const first = await runCli(['sync'], world.env);
    assert.equal(first.code, 1, first.stderr);
    assert.deepEqual(
      queued()
        .filter((entry) => entry.state === 'failed')
        .map((entry) => entry.siteId),
      ['1001'],
    );
    const servedFailed = () => world.fake.serving('1001')?.fingerprint === leaf.fingerprint;
    const runs: string[] = [];
    for (let run = 0; run < 6 && !servedFailed(); run += 1) {
      grant();
      const next = await runCli(['sync'], world.env);
      runs.push(`${next.code}: ${next.stdout.trim().split('\n').at(-1) ?? ''}`);
    }
    assert.equal(servedFailed(), true, `site 1001 was never reached again:\n${runs.join('\n')}`);
  });
});
