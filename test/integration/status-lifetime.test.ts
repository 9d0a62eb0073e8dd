/**
 * status judges "expiring" on the lifetime of the certificate Imperva holds, not on the local certificate's notBefore
 * against the held one's notAfter (which made an older certificate look short-lived, and a short-lived one look
 * long). Imperva lists only an expiry: with --live the edge's leaf gives the held certificate's own issue date;
 * without it the local certificate's lifetime stands in. Through the built CLI against the fake API and the fake
 * edge, with certificates issued relative to the clock.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeEdge } from '../support/fake-edge.js';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf, type Pki } from '../support/pki.js';
import { API_ID, createWorld, type World } from '../support/world.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const SITE = '1234567';

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

/** A certificate for example.com issued `ago` before now, lasting `lifetime`. */
function leafOf(ago: number, lifetime: number): Promise<Leaf> {
  const notBefore = new Date(Math.floor((Date.now() - ago) / 1000) * 1000);
  return issueLeaf(pki, {
    names: ['example.com'],
    notBefore,
    notAfter: new Date(notBefore.getTime() + lifetime),
  });
}

/**
 * A world where Imperva holds `held` (uploaded by another host, straight to the fake API) and the live folder has
 * `local`; status's --json rows as [state, daysLeft].
 */
async function statusOf(held: Leaf, local: Leaf, live: boolean): Promise<[string, number][]> {
  const world = await createWorld({ sites: { [SITE]: 'example.com' }, map: { 'example.com': Number(SITE) } });
  worlds.push(world);
  const response = await fetch(`${world.fake.url}/api/prov/v1/sites/customCertificate/upload`, {
    method: 'POST',
    headers: {
      'x-API-Id': API_ID,
      'x-API-Key': world.apiKey,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      site_id: SITE,
      certificate: Buffer.from(held.fullchainPem).toString('base64'),
      private_key: Buffer.from(held.keyPem).toString('base64'),
      auth_type: 'ECC',
    }),
  });
  assert.equal(((await response.json()) as { res: number }).res, 0);
  writeCertbotLineage(join(world.dir, 'le'), 'example.com', local);
  const env = { ...world.env };
  if (live) {
    const edge = await FakeEdge.start({ imperva: world.fake });
    edges.push(edge);
    env.INCAP_CERT_EDGE = edge.address;
  }
  const args = ['status', '--json', '--live-dir', join(world.dir, 'le', 'live'), ...(live ? ['--live'] : [])];
  const result = await runCli(args, env);
  assert.equal(result.code, 1, result.stderr);
  const doc = JSON.parse(result.stdout) as { sites: { state: string; daysLeft: number }[] };
  return doc.sites.map((row) => [row.state, row.daysLeft]);
}

describe('status measures the held certificate on its own lifetime', () => {
  it('an older 90-day certificate with 10 days left is expiring (a sixth is 15 days), not outdated', async () => {
    // Local notBefore an hour ago against the held notAfter made a 10-day lifetime, and a window under 2 days.
    const held = await leafOf(80 * DAY, 90 * DAY);
    const local = await leafOf(HOUR, 90 * DAY);
    assert.deepEqual(await statusOf(held, local, false), [['expiring', 9]]);
  });

  it('--live: a held 6-day certificate with 30 hours left is outdated, not expiring (its window is 24 hours)', async () => {
    // Local notBefore 10 days ago against the held notAfter made an 11-day lifetime, and a 45-hour window.
    const held = await leafOf(6 * DAY - 30 * HOUR, 6 * DAY);
    const local = await leafOf(10 * DAY, 90 * DAY);
    assert.deepEqual(await statusOf(held, local, true), [['outdated', 1]]);
  });

  it('--live: a held 6-day certificate with 20 hours left is expiring', async () => {
    const held = await leafOf(6 * DAY - 20 * HOUR, 6 * DAY);
    const local = await leafOf(10 * DAY, 90 * DAY);
    assert.deepEqual(await statusOf(held, local, true), [['expiring', 0]]);
  });
});
