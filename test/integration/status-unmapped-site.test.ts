/**
 * `push --site-id` to a site the map does not name, with an RSA and an ECC certificate, both failing. Both
 * are queued (explicit entries: sync retries them). status shows what the queue owes to sites the map does not
 * name — but it showed one row per site, so the second key type owed was not shown anywhere.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let world: World | undefined;
after(() => world?.close());

const UNMAPPED = '4444444';

describe('status of a site the map does not name', () => {
  it('shows every key type the queue owes it', async () => {
    world = await createWorld({
      sites: { '1234567': 'example.com', [UNMAPPED]: 'other.example.net' },
      map: { 'example.com': 1234567 },
    });
    world.fake.inject({ endpoint: 'upload', siteId: UNMAPPED, times: Infinity, fault: { status: 503 } });
    const pki = await createPki();
    for (const keyType of ['ec', 'rsa'] as const) {
      const leaf = await issueLeaf(pki, { names: ['other.example.net'], keyType });
      const lineage = writeCertbotLineage(join(world.dir, keyType), 'other.example.net', leaf);
      const pushed = await runCli(['push', '--lineage', lineage, '--site-id', UNMAPPED], world.env);
      assert.equal(pushed.code, 1, pushed.stderr);
    }
    const status = await runCli(['status', '--json', '--live-dir', join(world.dir, 'none')], world.env);
    const rows = (JSON.parse(status.stdout) as { sites: { siteId: string; keyType: string | null }[] }).sites;
    const owed = rows.filter((row) => row.siteId === UNMAPPED).map((row) => row.keyType);
    assert.deepEqual(owed.sort(), ['ECC', 'RSA'], JSON.stringify(rows));
  });
});
