/**
 * A sync that cannot finish before its deadline continues at the next one (issue 11): every site it did not reach
 * is deferred — exit 0, no onFailure, one summary line, still owed — and a site Imperva answered only with 429
 * until the deadline counts as not reached. A site that really failed (an answer other than 429) stays a failure.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, type Leaf } from '../support/pki.js';
import { agePace } from '../support/shared-pace.js';
import { createSyncWorld } from '../support/sync-world.js';
import type { World } from '../support/world.js';

const SITES = ['1001', '1002', '1003', '1004', '1005', '1006'];
let leaf: Leaf;
const worlds: World[] = [];
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
});
after(() => Promise.all(worlds.map((world) => world.close())));

/** Six sites mapped to example.com, its lineage in the live folder, an onFailure that leaves a mark. */
async function setup(config: Record<string, unknown>) {
  const made = await createSyncWorld(SITES, leaf, config);
  worlds.push(made.world);
  return made;
}

const served = (world: World) =>
  SITES.filter((id) => world.fake.serving(id)?.fingerprint === leaf.fingerprint);

describe('sync at its deadline', () => {
  it('Imperva answers every upload 429 until the deadline: all deferred, exit 0, no onFailure; the next sync delivers', async () => {
    const { world, ran, queued } = await setup({});
    world.fake.inject({
      endpoint: 'upload',
      times: Infinity,
      fault: { status: 429, body: 'slow down', headers: { 'retry-after': '1' } },
    });
    const first = await runCli(['sync'], world.env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(
      first.stdout,
      /^sync: .*0 failed, 6 deferred to the next sync \(the run's deadline came first\)$/m,
    );
    assert.doesNotMatch(first.stderr, /^error:/m);
    assert.equal(ran(), false, 'onFailure ran for a deferral');
    assert.deepEqual(
      queued()
        .map((entry) => [entry.siteId, entry.state])
        .sort(),
      SITES.map((id) => [id, 'deferred']),
    );
    assert.deepEqual(served(world), []);
    // status shows them owed, as pending (deferred), not as failures.
    const status = await runCli(['status'], world.env);
    for (const id of SITES)
      assert.match(status.stdout, new RegExp(`^${id} .* pending \\(deferred\\) since `, 'm'));
    assert.doesNotMatch(status.stdout + status.stderr, /attempts? since|queued: /);
    world.fake.clearFaults();
    agePace(world.stateDir);
    const second = await runCli(['sync'], world.env);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(served(world), SITES);
    assert.deepEqual(queued(), []);
  });

  it('a site that really failed (HTTP 500, no time left to retry) is a failure: exit 1, onFailure, queued as failed', async () => {
    const { world, ran, queued } = await setup({ retryDelaySeconds: 30 });
    world.fake.inject({
      endpoint: 'upload',
      siteId: '1003',
      times: Infinity,
      fault: { status: 500, body: 'down' },
    });
    const result = await runCli(['sync'], world.env);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /^error: site 1003 \(example\.com\): upload failed: .*no retry: the run's deadline would pass first$/m,
    );
    assert.equal(ran(), true, 'onFailure did not run');
    assert.deepEqual(
      queued().map((entry) => [entry.siteId, entry.state]),
      [['1003', 'failed']],
    );
    assert.deepEqual(
      served(world),
      SITES.filter((id) => id !== '1003'),
    );
  });

  it('a site deferred by every sync for more than a day is a failure: named, exit 1, onFailure', async () => {
    const { world, ran, rewrite } = await setup({});
    world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { status: 429, body: 'slow down' } });
    const first = await runCli(['sync'], world.env);
    assert.equal(first.code, 0, first.stderr);
    // The deferrals began two days ago.
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString();
    rewrite((entry) => (entry.unreachedSince = twoDaysAgo));
    const second = await runCli(['sync'], world.env);
    assert.equal(second.code, 1, second.stderr);
    for (const id of SITES)
      assert.match(
        second.stderr,
        new RegExp(
          `^error: site ${id} \\(example\\.com\\): deferred by every sync since ${twoDaysAgo}; longer than 24 h, a quarter of the time left on [^;]+; raise deadlineSeconds`,
          'm',
        ),
      );
    assert.equal(ran(), true, 'onFailure did not run');
  });
});
