/**
 * Issue 11's line between 'not reached' (deferred) and 'failed' at a sync's deadline: a site Imperva
 * answered for real (5xx, an HTML page, an error res, a reset connection) and then throttled until the deadline
 * stays a failure; a site throttled and then cut short by the deadline is deferred; push never defers; a hook
 * (deploy) defers a site Imperva answered with nothing but 429 (issue 22: a storm is paced, the timer's run delivers
 * it), and a hook whose try the deadline cut short still fails (test/integration/on-failure.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import type { Fault } from '../support/fake-imperva.js';
import { createPki, issueLeaf, type Leaf } from '../support/pki.js';
import { createSyncWorld } from '../support/sync-world.js';
import type { World } from '../support/world.js';

const SITES = ['1001', '1002', '1003'];
let leaf: Leaf;
const worlds: World[] = [];
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
});
after(() => Promise.all(worlds.map((world) => world.close())));

async function setup(config: Record<string, unknown> = {}) {
  const made = await createSyncWorld(SITES, leaf, config);
  worlds.push(made.world);
  const queued = () => made.queued().map((entry) => [entry.siteId, entry.state]);
  return { world: made.world, lineage: made.lineage, ran: made.ran, queued };
}

const THROTTLED: Fault = { status: 429, body: 'slow down', headers: { 'retry-after': '1' } };

describe('a real answer, then 429 until the deadline', () => {
  const firsts: [string, Fault][] = [
    ['HTTP 500', { status: 500, body: 'down' }],
    ['an HTML page (HTTP 200)', { status: 200, body: '<html>maintenance</html>' }],
    ['an error res', { res: 3015 }],
    ['a reset connection', { reset: true }],
  ];
  for (const [what, fault] of firsts) {
    it(`${what} first: sync fails the site (exit 1, onFailure, queued as failed)`, async () => {
      const { world, ran, queued } = await setup();
      world.fake.inject({ endpoint: 'upload', siteId: '1002', times: 1, fault });
      world.fake.inject({ endpoint: 'upload', siteId: '1002', times: Infinity, fault: THROTTLED });
      const result = await runCli(['sync'], world.env);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /^error: site 1002 \(example\.com\): upload failed: .*deadline/m);
      assert.match(result.stdout, /^sync: 0 current, 2 uploaded, 1 failed/m);
      assert.equal(ran(), true, 'onFailure did not run');
      assert.deepEqual(queued(), [['1002', 'failed']]);
      assert.ok(world.fake.requestsTo('upload').filter((one) => one.siteId === '1002').length >= 2);
    });
  }

  it('429, then a try that the deadline cuts short: deferred (exit 0, no onFailure)', async () => {
    const { world, ran, queued } = await setup({ timeoutSeconds: 60 });
    world.fake.inject({ endpoint: 'upload', siteId: '1002', times: 1, fault: THROTTLED });
    world.fake.inject({ endpoint: 'upload', siteId: '1002', times: Infinity, fault: { hang: true } });
    const result = await runCli(['sync'], world.env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^sync: 0 current, 2 uploaded, 0 failed, 1 deferred/m);
    assert.equal(ran(), false);
    assert.deepEqual(queued(), [['1002', 'deferred']]);
  });
});

describe('push does not defer', () => {
  it('push: 429 until the deadline is a failure (exit 1, onFailure, queued as failed)', async () => {
    const { world, lineage, ran, queued } = await setup();
    world.fake.inject({ endpoint: 'upload', siteId: '1002', times: Infinity, fault: THROTTLED });
    const result = await runCli(['push', '--lineage', lineage], world.env);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^error: site 1002 \(example\.com\): upload failed: .*deadline/m);
    assert.doesNotMatch(result.stdout + result.stderr, /deferred/);
    assert.equal(ran(), true, 'onFailure did not run');
    assert.deepEqual(queued(), [['1002', 'failed']]);
  });
});

describe('a hook defers what only 429s answered', () => {
  it('deploy: 429 until the deadline is deferred to the timer (exit 0, one line, no onFailure)', async () => {
    const { world, lineage, ran, queued } = await setup();
    world.fake.inject({ endpoint: 'upload', siteId: '1002', times: Infinity, fault: THROTTLED });
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^1 site deferred to the timer's run \(incap-cert sync\)/m);
    assert.doesNotMatch(result.stderr, /site 1002/);
    assert.equal(ran(), false, 'onFailure ran');
    assert.deepEqual(queued(), [['1002', 'deferred']]);
  });

  it('deploy: a real answer, then 429 until the deadline, still fails', async () => {
    const { world, lineage, ran, queued } = await setup();
    world.fake.inject({ endpoint: 'upload', siteId: '1002', times: 1, fault: { status: 500, body: 'down' } });
    world.fake.inject({ endpoint: 'upload', siteId: '1002', times: Infinity, fault: THROTTLED });
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /^error: site 1002 \(example\.com\): upload failed: .*deadline/m);
    assert.equal(ran(), true, 'onFailure did not run');
    assert.deepEqual(queued(), [['1002', 'failed']]);
  });
});
