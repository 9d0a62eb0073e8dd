/**
 * `pending` is a grace for the certificate this host uploaded, while the edge catches up: not for a newer local
 * certificate that was never uploaded. A renewal whose upload failed (the hook's run was stopped, Imperva refused it)
 * shortly after an earlier upload must not read as "uploaded at …, not served yet" with exit 0 for the rest of the
 * grace (a day for a 90-day certificate).
 */
import assert from 'node:assert/strict';
import { afterEach, before, describe, it } from 'node:test';
import { createEdgeWorld, readDeliveries, type EdgeWorld } from '../support/edge-world.js';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';

const SITE = '1234567';
let first: Leaf;
let renewed: Leaf;
before(async () => {
  const pki = await createPki();
  [first, renewed] = await Promise.all([
    issueLeaf(pki, { names: ['example.com'], keyType: 'ec' }),
    issueLeaf(pki, {
      names: ['example.com'],
      keyType: 'ec',
      notAfter: new Date(Date.now() + 91 * 86_400_000),
    }),
  ]);
});
let made: EdgeWorld | undefined;
afterEach(async () => {
  await made?.close();
  made = undefined;
});

describe('pending covers only what was uploaded', () => {
  it('a renewal never uploaded, right after the last upload: stale, exit 1 — not pending', async () => {
    made = await createEdgeWorld(SITE);
    const { w, le, live, env } = made;
    const lineage = writeCertbotLineage(le, 'example.com', first);
    assert.equal((await runCli(['deploy'], { ...env, RENEWED_LINEAGE: lineage })).code, 0);
    assert.equal(readDeliveries(w).deliveries[0]?.fingerprint, first.fingerprint);
    // Certbot renews; the hook's upload never happens (Imperva refuses it, or the run is stopped).
    writeCertbotLineage(le, 'example.com', renewed, 2);
    const result = await runCli(['verify', '--live-dir', live], env);
    assert.equal(result.code, 1, result.stdout);
    assert.doesNotMatch(result.stdout, /pending/);
    assert.match(
      result.stderr,
      /^error: site 1234567 \(example\.com\) ECDSA: stale: serves an older certificate/m,
    );
  });

  it('the certificate uploaded, not served yet: still pending, exit 0', async () => {
    made = await createEdgeWorld(SITE, { propagationMs: 600_000 });
    const { le, live, env } = made;
    const lineage = writeCertbotLineage(le, 'example.com', first);
    assert.equal((await runCli(['deploy'], { ...env, RENEWED_LINEAGE: lineage })).code, 0);
    const result = await runCli(['verify', '--live-dir', live], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^site 1234567 \(example\.com\) ECDSA: pending: uploaded at /m);
  });
});
