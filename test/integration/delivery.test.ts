/**
 * What this host delivered, and what follows from it (issue 19), through the built CLI against the fake API and the
 * fake edge: the delivery record, a key-type switch over the timer's `sync --verify` runs (warned, exit 1, removed
 * with pruneOtherKeyType only once the edge serves the new one; another host's certificate never), a site Imperva
 * flags (never current, never uploaded again), a legacy listing (no upload loop), verify per name and key type with
 * a browser's offer of both, and `pending` within the hour after an upload.
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, before, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { uploadedElsewhere } from '../support/uploaded-elsewhere.js';
import {
  backdateDeliveries,
  createEdgeWorld,
  deliveryFile,
  readDeliveries,
  type EdgeWorld,
} from '../support/edge-world.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf, type Pki } from '../support/pki.js';

const SITE = '1234567';
const HOUR = 3_600_000;
/** Past the verify grace of the 90-day test certificates (a hundredth of their lifetime, 21.6 hours). */
const PAST_GRACE = 22 * HOUR;
let pki: Pki;
let rsa: Leaf;
let ecc: Leaf;
let rsaBoth: Leaf;
let eccBoth: Leaf;
before(async () => {
  pki = await createPki();
  [rsa, ecc, rsaBoth, eccBoth] = await Promise.all([
    issueLeaf(pki, { names: ['example.com'], keyType: 'rsa' }),
    issueLeaf(pki, { names: ['example.com'], keyType: 'ec' }),
    issueLeaf(pki, { names: ['example.com', 'www.example.com'], keyType: 'rsa' }),
    issueLeaf(pki, { names: ['example.com', 'www.example.com'], keyType: 'ec' }),
  ]);
});

let made: EdgeWorld | undefined;
afterEach(async () => {
  await made?.close();
  made = undefined;
});

async function setup(
  options: { propagationMs?: number; map?: Record<string, unknown> } = {},
): Promise<EdgeWorld> {
  made = await createEdgeWorld(SITE, options);
  return made;
}

const removeLine = (type: string) =>
  new RegExp(
    `^warning: site ${SITE} \\(example\\.com\\): Imperva still holds the ${type} certificate this host uploaded on .*; remove it with: incap-cert remove --site-id ${SITE} --key-type ${type}$`,
    'm',
  );

describe('the delivery record', () => {
  it('every upload is recorded (site, key type, fingerprint, when); a record that cannot be trusted is set aside', async () => {
    const { w, le, env } = await setup();
    const lineage = writeCertbotLineage(le, 'example.com', ecc);
    const first = await runCli(['deploy'], { ...env, RENEWED_LINEAGE: lineage });
    assert.equal(first.code, 0, first.stderr);
    const record = readDeliveries(w);
    assert.equal(record.version, 1);
    assert.deepEqual(
      record.deliveries.map((one) => [one.siteId, one.keyType, one.fingerprint, one.flags]),
      [[SITE, 'ECC', ecc.fingerprint, []]],
    );
    assert.ok(Math.abs(Date.parse(record.deliveries[0]?.at ?? '') - Date.now()) < 60_000);
    assert.equal(readFileSync(deliveryFile(w)).length > 0, true);

    // Writable by others: not read, set aside by the next upload, and the upload goes on.
    chmodSync(deliveryFile(w), 0o666);
    w.fake.sites.get(SITE)!.served = {};
    const second = await runCli(['deploy'], { ...env, RENEWED_LINEAGE: lineage });
    assert.equal(second.code, 0, second.stderr);
    assert.match(
      second.stderr,
      /^warning: delivery record .*delivered\.json: not read \(it is writable by group or others.*; kept aside as .*delivered\.json\.rejected-/m,
    );
    assert.equal(readDeliveries(w).deliveries.length, 1);

    // A link, or text that does not parse: a warning, never a crash, never a blocked upload.
    rmSync(deliveryFile(w));
    symlinkSync('/etc/passwd', deliveryFile(w));
    w.fake.sites.get(SITE)!.served = {};
    const linked = await runCli(['sync', '--verify', '--live-dir', join(le, 'live')], env);
    assert.equal(linked.code, 0, linked.stderr);
    assert.match(linked.stderr, /^warning: delivery record .*: not read \(it is a symbolic link\)/m);
    assert.equal(w.fake.acceptedUploads().length, 3);
    rmSync(deliveryFile(w));
    writeFileSync(deliveryFile(w), '{"version":1,"deliveries":[{"siteId":"x"}]}', { mode: 0o600 });
    const corrupt = await runCli(['sync', '--live-dir', join(le, 'live')], env);
    assert.equal(corrupt.code, 0, corrupt.stderr);
    assert.match(corrupt.stderr, /^warning: delivery record .*: entry 0 is not valid/m);
  });
});

describe('a key-type switch over the timer runs (sync --verify)', () => {
  it('warns with the exact remove command and exits 1 on every run until the certificate left behind is gone', async () => {
    const { w, le, live, env } = await setup();
    writeCertbotLineage(le, 'example.com', rsa);
    assert.equal((await runCli(['sync', '--verify', '--live-dir', live], env)).code, 0);
    // The lineage switches to ECDSA (certbot --key-type ecdsa): the RSA certificate stays at Imperva.
    writeCertbotLineage(le, 'example.com', ecc, 2);
    for (let run = 0; run < 2; run += 1) {
      const result = await runCli(['sync', '--verify', '--live-dir', live], env);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, removeLine('RSA'));
    }
    assert.equal(
      w.fake.serving(SITE, 'RSA')?.fingerprint,
      rsa.fingerprint,
      'not removed without pruneOtherKeyType',
    );
    assert.equal(w.fake.acceptedRemovals().length, 0);
    // The command the warning gives works as printed, and then the runs are clean.
    const removed = await runCli(['remove', '--site-id', SITE, '--key-type', 'RSA', '--live-dir', live], env);
    assert.equal(removed.code, 0, removed.stderr);
    const clean = await runCli(['sync', '--verify', '--live-dir', live], env);
    assert.equal(clean.code, 0, clean.stderr);
    assert.doesNotMatch(clean.stderr, /still holds/);
  });

  it('pruneOtherKeyType removes it only once the edge serves the new one', async () => {
    const { w, le, live, env, edge: fakeEdge, configure } = await setup();
    writeCertbotLineage(le, 'example.com', rsa);
    assert.equal((await runCli(['sync', '--live-dir', live], env)).code, 0);
    configure({ pruneOtherKeyType: true });
    fakeEdge.propagationMs = 600_000;
    writeCertbotLineage(le, 'example.com', ecc, 2);
    const uploaded = await runCli(['sync', '--verify', '--live-dir', live], env);
    assert.equal(uploaded.code, 1, uploaded.stderr);
    assert.match(uploaded.stdout, /^site 1234567 \(example\.com\) ECDSA: pending: uploaded at /m);
    assert.match(uploaded.stderr, removeLine('RSA'));
    assert.match(uploaded.stderr, /not removed yet: the edge does not serve/);
    const waiting = await runCli(['sync', '--verify', '--live-dir', live], env);
    assert.equal(waiting.code, 1, waiting.stderr);
    assert.equal(w.fake.acceptedRemovals().length, 0, 'not while the edge serves the old one');
    assert.equal(w.fake.acceptedUploads().length, 2, 'the ECC certificate is not uploaded again');
    fakeEdge.propagationMs = 0;
    const served = await runCli(['sync', '--verify', '--live-dir', live], env);
    assert.equal(served.code, 0, served.stderr);
    assert.match(
      served.stdout,
      /removed the RSA custom certificate this host uploaded \(pruneOtherKeyType; the edge serves ours\)/,
    );
    assert.deepEqual(
      w.fake.acceptedRemovals().map((request) => [request.form.site_id, request.form.auth_type]),
      [[SITE, 'RSA']],
    );
    assert.equal(w.fake.serving(SITE, 'ECC')?.fingerprint, ecc.fingerprint);
    assert.deepEqual(
      readDeliveries(w).deliveries.map((one) => one.keyType),
      ['ECC'],
    );
  });

  it("another host's certificate of the other key type is never warned about as ours, nor removed", async () => {
    const { w, le, live, env, configure } = await setup();
    configure({ pruneOtherKeyType: true });
    await uploadedElsewhere(w, SITE, rsa, 'RSA', { inputHash: true });
    writeCertbotLineage(le, 'example.com', ecc);
    for (let run = 0; run < 2; run += 1) {
      const result = await runCli(['sync', '--live-dir', live], env);
      assert.equal(result.code, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /still holds/);
    }
    assert.equal(w.fake.acceptedRemovals().length, 0);
    assert.equal(w.fake.serving(SITE, 'RSA')?.fingerprint, rsa.fingerprint);
  });
});

describe('a site Imperva flags', () => {
  it('(listing) is never current: sync fails it every run without uploading again; status does not call it current', async () => {
    const { w, le, live, env } = await setup();
    writeCertbotLineage(le, 'example.com', ecc);
    assert.equal((await runCli(['sync', '--live-dir', live], env)).code, 0);
    w.fake.mismatched.add(SITE);
    for (let run = 0; run < 2; run += 1) {
      const result = await runCli(['sync', '--live-dir', live], env);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stdout, /sync: 0 current, 0 uploaded, 1 failed/);
      assert.match(result.stderr, /^error: site 1234567 \(example\.com\): .*flags it: .*coverageError/m);
    }
    assert.equal(w.fake.acceptedUploads().length, 1, 'the same certificate is not sent again');
    assert.deepEqual(
      (JSON.parse(readFileSync(w.queueFile, 'utf8')) as { entries: { siteId: string }[] }).entries.map(
        (entry) => entry.siteId,
      ),
      [SITE],
    );
    const status = await runCli(['status', '--json', '--live-dir', live], env);
    const rows = (JSON.parse(status.stdout) as { sites: { state: string }[] }).sites;
    assert.notEqual(rows[0]?.state, 'current');
    assert.equal(status.code, 1);
  });

  it('(v1 sites/status, v3 closed) is never current either', async () => {
    const { w, le, live, env } = await setup();
    w.fake.v3 = 403;
    writeCertbotLineage(le, 'example.com', ecc);
    assert.equal((await runCli(['sync', '--live-dir', live], env)).code, 0);
    w.fake.mismatched.add(SITE);
    const result = await runCli(['sync', '--live-dir', live], env);
    assert.equal(result.code, 1, result.stderr);
    assert.equal(w.fake.acceptedUploads().length, 1);
  });

  it('(chainError on our own upload, which no listing shows) is recorded and reported each run, not re-uploaded', async () => {
    const { w, le, live, env } = await setup();
    // Imperva holds the certificate (stored by the upload it flagged)...
    await uploadedElsewhere(w, SITE, ecc, 'ECC', { inputHash: true });
    const lineage = writeCertbotLineage(le, 'example.com', ecc);
    w.fake.inject({
      endpoint: 'upload',
      fault: {
        contentType: 'application/json',
        body: JSON.stringify({ res: '0', res_message: 'OK', debug_info: { details: { chainError: true } } }),
      },
    });
    const deploy = await runCli(['deploy'], { ...env, RENEWED_LINEAGE: lineage });
    assert.equal(deploy.code, 1, deploy.stderr);
    assert.deepEqual(readDeliveries(w).deliveries[0]?.flags, ['chainError']);
    const uploads = w.fake.uploads().length;
    for (let run = 0; run < 2; run += 1) {
      const result = await runCli(['sync', '--live-dir', live], env);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /chain is incomplete or out of order \(chainError\)/);
    }
    assert.equal(w.fake.uploads().length, uploads, 'not sent again');
  });
});

describe('legacy listings', () => {
  it('an entry that shows nothing of its certificate is judged by the delivery record: no upload on every run', async () => {
    const { w, le, live, env } = await setup();
    writeCertbotLineage(le, 'example.com', ecc);
    assert.equal((await runCli(['sync', '--live-dir', live], env)).code, 0);
    w.fake.v3Legacy = 'bare';
    for (let run = 0; run < 2; run += 1) {
      const result = await runCli(['sync', '--live-dir', live], env);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /sync: 1 current, 0 uploaded, 0 failed/);
    }
    assert.equal(w.fake.uploads().length, 1);
    // Without a record, one upload makes one, and the runs after it upload nothing.
    rmSync(deliveryFile(w));
    assert.match((await runCli(['sync', '--live-dir', live], env)).stdout, /1 uploaded/);
    assert.match((await runCli(['sync', '--live-dir', live], env)).stdout, /1 current, 0 uploaded/);
    assert.equal(w.fake.uploads().length, 2);
  });
});

describe('verify', () => {
  it('probes every name mapped to the site, per key type this host deploys and offering both', async () => {
    const {
      w,
      le,
      live,
      env,
      edge: fakeEdge,
    } = await setup({
      map: { 'example.com': Number(SITE), 'www.example.com': Number(SITE) },
    });
    w.fake.sites.get(SITE)!.names.push('www.example.com');
    writeCertbotLineage(le, 'example.com', rsaBoth);
    writeCertbotLineage(le, 'example.com-ecdsa', eccBoth);
    assert.equal((await runCli(['sync', '--live-dir', live], env)).code, 0);
    backdateDeliveries(w, PAST_GRACE);
    const result = await runCli(['verify', '--json', '--live-dir', live], env);
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout) as {
      edges: { name: string; keyType: string; offered: string; state: string }[];
    };
    assert.deepEqual(doc.edges.map((row) => `${row.name} ${row.offered} ${row.state}`).sort(), [
      'example.com ECC served',
      'example.com RSA served',
      'example.com both served',
      'www.example.com ECC served',
      'www.example.com RSA served',
      'www.example.com both served',
    ]);
    assert.deepEqual([...new Set(fakeEdge.hellos.map((hello) => hello.servername))].sort(), [
      'example.com',
      'www.example.com',
    ]);
  });

  it('a name whose certificate is another lineage of the other key type: a browser offering both gets the wrong one', async () => {
    const { w, le, live, env } = await setup({
      map: { 'example.com': Number(SITE), 'www.example.com': Number(SITE) },
    });
    w.fake.sites.get(SITE)!.names.push('www.example.com');
    // Another host (or lineage) put an ECDSA certificate for example.com alone; this host deploys RSA only for both
    // names: browsers offering ECDSA get that one, which does not cover www.example.com.
    await uploadedElsewhere(w, SITE, ecc, 'ECC', { inputHash: true });
    writeCertbotLineage(le, 'example.com', rsaBoth);
    assert.equal((await runCli(['sync', '--live-dir', live], env)).code, 0);
    backdateDeliveries(w, PAST_GRACE);
    const result = await runCli(['verify', '--live-dir', live], env);
    assert.equal(result.code, 1, result.stdout);
    assert.match(result.stdout, /^site 1234567 \(www\.example\.com\) RSA: served/m);
    assert.match(
      result.stderr,
      /^error: site 1234567 \(www\.example\.com\) RSA\+ECDSA: wrong: a client offering both key types gets an ECDSA certificate/m,
    );
  });

  it('pending within the verify grace after an upload (exit 0); stale after it (exit 1), and sync does not upload again', async () => {
    const { w, le, live, env } = await setup({ propagationMs: 600_000 });
    const lineage = writeCertbotLineage(le, 'example.com', ecc);
    assert.equal((await runCli(['deploy'], { ...env, RENEWED_LINEAGE: lineage })).code, 0);
    const soon = await runCli(['verify', '--live-dir', live], env);
    assert.equal(soon.code, 0, soon.stderr);
    assert.match(
      soon.stdout,
      /^site 1234567 \(example\.com\) ECDSA: pending: uploaded at .*, not served yet: serves an older certificate/m,
    );
    assert.match(soon.stdout, /^verify: 0 of 2 served, 2 pending \(uploaded within the verify grace\)$/m);
    const timer = await runCli(['sync', '--verify', '--live-dir', live], env);
    assert.equal(timer.code, 0, timer.stderr);
    backdateDeliveries(w, PAST_GRACE);
    const late = await runCli(['sync', '--verify', '--live-dir', live], env);
    assert.equal(late.code, 1);
    assert.match(
      late.stderr,
      /^error: site 1234567 \(example\.com\) ECDSA: stale: serves an older certificate/m,
    );
    assert.equal(w.fake.acceptedUploads().length, 1, 'not uploaded again');
  });
});
