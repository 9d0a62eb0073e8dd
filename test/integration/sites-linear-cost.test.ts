/**
 * Loops over sites that scan every site (a find or some over all wants, entries or rows, per site). Each is
 * quadratic: millions of comparisons per run at Imperva's scale (issue 11), in status and in the daily sync.
 * Measured without a clock: a probe preloaded into the built CLI counts the elements that Array search methods
 * visit (the callbacks of some/find/findIndex/filter/every, the length of includes/indexOf). Twice the sites must
 * cost about twice the visits (got, winston and the engine do a fixed amount per request), never four times.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Queue } from '../../src/state/queue.js';
import { runProbed } from '../support/harness.js';
import { VISIT_PROBE } from '../support/visit-probe.js';
import { createPki, issueLeaf, writeCertbotLineage } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

const quiet = { info() {}, warn() {}, error() {}, debug() {} };
const worlds: World[] = [];
after(() => Promise.all(worlds.map((world) => world.close())));

/** The visits of `status` (with nothing yet uploaded) and `sync`, for `count` sites each queued and mapped. */
async function visits(count: number): Promise<{ status: number; sync: number }> {
  const ids = Array.from({ length: count }, (_, index) => String(5001 + index));
  const nameOf = (id: string) => `s${id}.example.com`;
  const world = await createWorld({
    sites: Object.fromEntries(ids.map((id) => [id, nameOf(id)])),
    map: Object.fromEntries(ids.map((id) => [nameOf(id), Number(id)])),
  });
  worlds.push(world);
  const leaf = await issueLeaf(await createPki(), { names: ids.map(nameOf) });
  const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
  // Every site owed from an earlier run: the queue is as large as the map.
  await new Queue(world.stateDir, quiet).settle(
    ids.map((id) => ({
      siteId: id,
      authType: 'ECC' as const,
      names: [nameOf(id)],
      source: { cert: join(lineage, 'fullchain.pem'), key: join(lineage, 'privkey.pem'), lineage },
      fingerprint: 'ab',
      notAfter: new Date('2026-01-01T00:00:00Z'),
      error: 'HTTP 503',
      attempts: 1,
    })),
    [],
  );
  const run = async (command: string) => {
    const result = await runProbed(
      VISIT_PROBE,
      [command, '--live-dir', join(world.dir, 'le', 'live')],
      world.env,
    );
    return { result, visited: Number(result.probed) };
  };
  const status = await run('status');
  assert.equal(
    status.result.code,
    1,
    `status: every site is missing its certificate\n${status.result.stderr}`,
  );
  const sync = await run('sync');
  assert.equal(sync.result.code, 0, sync.result.stderr);
  assert.equal(world.fake.acceptedUploads().length, count, 'sync uploaded to every site');
  return { status: status.visited, sync: sync.visited };
}

describe('loops over sites', () => {
  it('status and sync over twice the sites visit about twice the elements, not four times', async () => {
    const small = await visits(150);
    const large = await visits(300);
    for (const command of ['status', 'sync'] as const) {
      const ratio = large[command] / small[command];
      assert.ok(
        ratio < 2.5,
        `${command}: ${small[command]} visits for 150 sites, ${large[command]} for 300 (x${ratio.toFixed(2)})`,
      );
    }
  });
});
