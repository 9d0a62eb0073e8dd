/**
 * incap-cert verify, through the built CLI: the fake edge (127.0.0.1, INCAP_CERT_EDGE) serves what the fake API
 * holds per SNI name and key type, after a propagation delay; each state has its line and its exit code.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { FakeEdge } from '../support/fake-edge.js';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let rsa: Leaf;
let ecc: Leaf;
before(async () => {
  const pki = await createPki();
  [rsa, ecc] = await Promise.all([
    issueLeaf(pki, { names: ['example.com'], keyType: 'rsa' }),
    issueLeaf(pki, { names: ['example.com'], keyType: 'ec' }),
  ]);
});

let world: World | undefined;
let edge: FakeEdge | undefined;
afterEach(async () => {
  await edge?.close();
  await world?.close();
  edge = undefined;
});
after(() => world?.close());

async function setup(options: { propagationMs?: number; own?: 'site' | 'generic' } = {}) {
  world = await createWorld({ sites: { '1234567': 'example.com' }, map: { 'example.com': 1234567 } });
  edge = await FakeEdge.start({
    imperva: world.fake,
    propagationMs: options.propagationMs ?? 0,
    own: options.own ?? 'site',
  });
  const le = join(world.dir, 'le');
  const env = { ...world.env, INCAP_CERT_EDGE: edge.address };
  return { le, env };
}

describe('incap-cert verify', () => {
  it('served: the edge serves the local leaf, exit 0', async () => {
    const { le, env } = await setup();
    const lineage = writeCertbotLineage(le, 'example.com', ecc);
    assert.equal((await runCli(['deploy'], { ...env, RENEWED_LINEAGE: lineage })).code, 0);
    const result = await runCli(['verify', '--live-dir', join(le, 'live')], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^site 1234567 \(example\.com\) ECDSA: served: serves the local certificate/m,
    );
    assert.match(result.stdout, /^site 1234567 \(example\.com\) RSA\+ECDSA: served: /m);
    assert.match(result.stdout, /^verify: 2 of 2 served$/m);
    assert.equal(
      edge?.hellos.length,
      2,
      'two handshakes: one name, its key type and a browser offering both',
    );
  });

  it('stale while the upload propagates, then served with --wait; progress is printed', async () => {
    const { le, env } = await setup({ propagationMs: 2500 });
    const lineage = writeCertbotLineage(le, 'example.com', ecc);
    assert.equal((await runCli(['deploy'], { ...env, RENEWED_LINEAGE: lineage })).code, 0);
    // Without a record of the upload, the site is stale rather than pending (uploaded within the verify grace).
    rmSync(join(world?.stateDir ?? '', 'delivered.json'));
    const now = await runCli(['verify', '--live-dir', join(le, 'live')], env);
    assert.equal(now.code, 1);
    assert.match(
      now.stderr,
      /^error: site 1234567 \(example\.com\) ECDSA: stale: serves an older certificate/m,
    );
    const waited = await runCli(['verify', '--wait', '30', '--live-dir', join(le, 'live')], env);
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stdout, /^verify: 0 of 2 served; waiting for 2 more \(\d+ s left, round 1\)$/m);
    assert.match(waited.stdout, /ECDSA: served/);
  });

  it('wrong: the edge serves a certificate whose names do not cover the site', async () => {
    const { le, env } = await setup({ own: 'generic' });
    writeCertbotLineage(le, 'example.com', ecc);
    const result = await runCli(['verify', '--live-dir', join(le, 'live')], env);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^error: site 1234567 \(example\.com\) ECDSA: wrong: serves a certificate for /m,
    );
  });

  it('unreachable: nothing listens at the edge address', async () => {
    const { le, env } = await setup();
    writeCertbotLineage(le, 'example.com', ecc);
    const closed = edge?.address ?? '';
    await edge?.close();
    edge = undefined;
    const result = await runCli(['verify', '--live-dir', join(le, 'live')], {
      ...env,
      INCAP_CERT_EDGE: closed,
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^error: site 1234567 \(example\.com\) ECDSA: unreachable: /m);
  });

  it('both key types: one line each, each judged against its own lineage', async () => {
    const { le, env } = await setup();
    const a = writeCertbotLineage(le, 'example.com', rsa);
    const b = writeCertbotLineage(le, 'example.com-0001', ecc);
    assert.equal((await runCli(['deploy'], { ...env, RENEWED_LINEAGE: a })).code, 0);
    assert.equal((await runCli(['deploy'], { ...env, RENEWED_LINEAGE: b })).code, 0);
    const result = await runCli(['verify', '--json', '--live-dir', join(le, 'live')], env);
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout) as {
      ok: boolean;
      edges: { keyType: string; offered: string; state: string; served: { fingerprint: string } }[];
    };
    assert.equal(doc.ok, true);
    const single = doc.edges.filter((row) => row.offered !== 'both');
    assert.deepEqual(single.map((row) => [row.keyType, row.state, row.served.fingerprint]).sort(), [
      ['ECC', 'served', ecc.fingerprint],
      ['RSA', 'served', rsa.fingerprint],
    ]);
  });
});
