/**
 * See what the site serves: both key types judged apart (v3, account-wide or per site, v1 when v3 is closed),
 * expiry watched, the other key type's leftover named, remove and its refusals, sync --verify and pruning, metrics.
 * Through the built CLI against the fake API and the fake edge, all on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { backdateDeliveries, createEdgeWorld, type EdgeWorld } from '../support/edge-world.js';
import { runCli } from '../support/harness.js';
import { uploadedElsewhere } from '../support/uploaded-elsewhere.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf, type Pki } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

const DAY = 86_400_000;
let pki: Pki;
let rsa: Leaf;
let ecc: Leaf;
let oldRsa: Leaf;
before(async () => {
  pki = await createPki();
  [rsa, ecc, oldRsa] = await Promise.all([
    issueLeaf(pki, { names: ['example.com'], keyType: 'rsa' }),
    issueLeaf(pki, { names: ['example.com'], keyType: 'ec' }),
    issueLeaf(pki, {
      names: ['example.com'],
      keyType: 'rsa',
      notBefore: new Date(Date.now() - 60 * DAY),
      notAfter: new Date(Date.now() + 20 * DAY),
    }),
  ]);
});

let world: World | undefined;
let edgeWorld: EdgeWorld | undefined;
afterEach(async () => {
  await edgeWorld?.close();
  edgeWorld = undefined;
  await world?.close();
});
after(() => world?.close());

const SITE = '1234567';
async function newWorld() {
  world = await createWorld({ sites: { [SITE]: 'example.com' }, map: { 'example.com': Number(SITE) } });
  return { w: world, le: join(world.dir, 'le'), live: join(world.dir, 'le', 'live') };
}

/** The same world behind a fake edge. */
async function newEdgeWorld(options: { propagationMs?: number } = {}): Promise<EdgeWorld> {
  edgeWorld = await createEdgeWorld(SITE, options);
  return edgeWorld;
}

describe('both key types', () => {
  it('a site that also holds an RSA certificate is current for ECC, and a second sync uploads nothing', async () => {
    const { w, le, live } = await newWorld();
    await uploadedElsewhere(w, SITE, rsa, 'RSA');
    writeCertbotLineage(le, 'example.com', ecc);
    const first = await runCli(['sync', '--live-dir', live], w.env);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(w.fake.serving(SITE, 'ECC')?.fingerprint, ecc.fingerprint);
    assert.equal(w.fake.serving(SITE, 'RSA')?.fingerprint, rsa.fingerprint, 'the RSA one is left alone');
    const uploads = w.fake.uploads().length;
    const second = await runCli(['sync', '--live-dir', live], w.env);
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, 'sync: 1 current, 0 uploaded, 0 failed\n');
    assert.equal(w.fake.uploads().length, uploads, 'nothing uploaded again');
  });

  it('an RSA and an ECDSA lineage for the same names: each delivered and judged for its own key type', async () => {
    const { w, le, live } = await newWorld();
    writeCertbotLineage(le, 'example.com', rsa);
    writeCertbotLineage(le, 'example.com-ecdsa', ecc);
    const first = await runCli(['sync', '--live-dir', live], w.env);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(
      w.fake
        .acceptedUploads()
        .map((upload) => [upload.form.auth_type, upload.form.input_hash])
        .sort(),
      [
        ['ECC', ecc.fingerprint],
        ['RSA', rsa.fingerprint],
      ],
    );
    const second = await runCli(['sync', '--live-dir', live], w.env);
    assert.equal(second.stdout, 'sync: 2 current, 0 uploaded, 0 failed\n');
    const status = JSON.parse((await runCli(['status', '--json', '--live-dir', live], w.env)).stdout) as {
      sites: { keyType: string; state: string }[];
    };
    assert.deepEqual(status.sites.map((row) => [row.keyType, row.state]).sort(), [
      ['ECC', 'current'],
      ['RSA', 'current'],
    ]);
  });

  it('queue entries are keyed by site and key type: delivering one never removes the other', async () => {
    const { w, le } = await newWorld();
    const r = writeCertbotLineage(le, 'example.com', rsa);
    const e = writeCertbotLineage(le, 'example.com-ecdsa', ecc);
    w.fake.inject({ endpoint: 'upload', times: Infinity, fault: { res: 3015 } });
    assert.equal((await runCli(['deploy'], { ...w.env, RENEWED_LINEAGE: r })).code, 1);
    assert.equal((await runCli(['deploy'], { ...w.env, RENEWED_LINEAGE: e })).code, 1);
    w.fake.clearFaults();
    assert.equal((await runCli(['deploy'], { ...w.env, RENEWED_LINEAGE: e })).code, 0);
    const queue = JSON.parse(readFileSync(w.queueFile, 'utf8')) as {
      entries: { siteId: string; authType: string }[];
    };
    assert.deepEqual(
      queue.entries.map((entry) => [entry.siteId, entry.authType]),
      [[SITE, 'RSA']],
    );
  });

  it('v3 closed to this key: v1 sites/status per site, said once', async () => {
    const { w, le, live } = await newWorld();
    w.fake.v3 = 403;
    writeCertbotLineage(le, 'example.com', ecc);
    const first = await runCli(['sync', '--live-dir', live], w.env);
    assert.equal(first.code, 0, first.stderr);
    const said = first.stdout.split('\n').filter((line) => /v3 certificates API is not available/.test(line));
    assert.equal(said.length, 1, first.stdout);
    assert.deepEqual(
      w.fake.requests.map((request) => request.endpoint),
      // The key proven first, its record asked after the uploads (test/integration/api-key.test.ts).
      ['verify', 'certificates', 'certificates', 'status', 'upload', 'api-clients'],
    );
    assert.equal((await runCli(['sync', '--live-dir', live], w.env)).stdout.includes('0 uploaded'), true);
  });
});

describe('expiry is watched', () => {
  it('status: what the site serves expires within the window: expiring, daysLeft, exit 1; deploy warns', async () => {
    const { w, le, live } = await newWorld();
    // A 12-day certificate with 25 hours left: inside its last sixth (2 days).
    const short = await issueLeaf(pki, {
      names: ['example.com'],
      notBefore: new Date(Date.now() - 11 * DAY + 3_600_000),
      notAfter: new Date(Date.now() + 1 * DAY + 3_600_000),
    });
    const lineage = writeCertbotLineage(le, 'example.com', short);
    const deploy = await runCli(['deploy'], { ...w.env, RENEWED_LINEAGE: lineage });
    assert.equal(deploy.code, 0);
    assert.match(
      deploy.stderr,
      /^warning: certificate .* expires .*, in 2[45] hours: within the warning window \(2 days\)/m,
    );
    const status = await runCli(['status', '--json', '--live-dir', live], w.env);
    assert.equal(status.code, 1);
    const row = (JSON.parse(status.stdout) as { sites: { state: string; daysLeft: number }[] }).sites[0];
    assert.deepEqual([row?.state, row?.daysLeft], ['expiring', 1]);
  });

  it('the other key type left behind and expiring first is named, with the command that removes it', async () => {
    const { w, le, live } = await newWorld();
    await uploadedElsewhere(w, SITE, oldRsa, 'RSA');
    const lineage = writeCertbotLineage(le, 'example.com', ecc);
    assert.equal((await runCli(['deploy'], { ...w.env, RENEWED_LINEAGE: lineage })).code, 0);
    const status = await runCli(['status', '--live-dir', live], w.env);
    assert.match(
      status.stderr,
      new RegExp(
        `^warning: site ${SITE} \\(example\\.com\\): Imperva also holds an RSA certificate that this host does not deploy, expiring .*Z; remove it with: incap-cert remove --site-id ${SITE} --auth-type RSA$`,
        'm',
      ),
    );
  });
});

describe('the leftover other key type, seen by verify too', () => {
  it('verify names it with the command that removes it', async () => {
    const { w, le, live, env } = await newEdgeWorld();
    await uploadedElsewhere(w, SITE, oldRsa, 'RSA');
    const lineage = writeCertbotLineage(le, 'example.com', ecc);
    assert.equal((await runCli(['deploy'], { ...env, RENEWED_LINEAGE: lineage })).code, 0);
    const result = await runCli(['verify', '--live-dir', live], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      /^warning: site 1234567 \(example\.com\): Imperva also holds an RSA certificate .*remove it with: incap-cert remove --site-id 1234567 --auth-type RSA$/m,
    );
  });
});

describe('remove', () => {
  it('refuses the key type this host deploys (exit 2, nothing sent); removes the other; --dry-run sends none', async () => {
    const { w, le, live } = await newWorld();
    const lineage = writeCertbotLineage(le, 'example.com', ecc);
    assert.equal((await runCli(['deploy'], { ...w.env, RENEWED_LINEAGE: lineage })).code, 0);
    await uploadedElsewhere(w, SITE, oldRsa, 'RSA');
    const before = w.fake.requests.length;
    const own = await runCli(['remove', '--site-id', SITE, '--auth-type', 'ECC', '--live-dir', live], w.env);
    assert.equal(own.code, 2);
    assert.match(
      own.stderr,
      /^error: not removing the ECDSA custom certificate of site 1234567: this host deploys it \(/,
    );
    assert.equal(w.fake.requests.length, before, 'nothing sent');
    const dry = await runCli(
      ['remove', '--site-id', SITE, '--auth-type', 'RSA', '--live-dir', live, '--dry-run'],
      w.env,
    );
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^dry run: would remove the RSA custom certificate of site 1234567$/m);
    assert.equal(w.fake.acceptedRemovals().length, 0);
    const done = await runCli(['remove', '--site-id', SITE, '--auth-type', 'RSA', '--live-dir', live], w.env);
    assert.equal(done.code, 0, done.stderr);
    assert.equal(w.fake.serving(SITE, 'RSA'), undefined);
    assert.equal(w.fake.serving(SITE, 'ECC')?.fingerprint, ecc.fingerprint);
    assert.deepEqual(
      w.fake.acceptedRemovals().map((request) => [request.form.site_id, request.form.auth_type]),
      [[SITE, 'RSA']],
    );
  });

  it("refuses a site's only custom certificate without --force; --force removes it", async () => {
    const { w } = await newWorld();
    await uploadedElsewhere(w, SITE, rsa, 'RSA');
    // Nor has the site a certificate of Imperva's own to fall back on (test/integration/fallback.test.ts).
    w.fake.own.delete(SITE);
    const empty = join(w.dir, 'nothing-here');
    mkdirSync(empty);
    const only = await runCli(
      ['remove', '--site-id', SITE, '--auth-type', 'RSA', '--live-dir', empty],
      w.env,
    );
    assert.equal(only.code, 2);
    assert.match(
      only.stderr,
      /^error: not removing the RSA custom certificate of site 1234567: afterwards no unexpired certificate would cover the site's names: left would be no other custom certificate/,
    );
    assert.equal(w.fake.acceptedRemovals().length, 0);
    const forced = await runCli(
      ['remove', '--site-id', SITE, '--auth-type', 'RSA', '--force', '--live-dir', empty],
      w.env,
    );
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(w.fake.serving(SITE, 'RSA'), undefined);
  });
});

describe('remove beside a certificate it cannot read', () => {
  it('refuses without --force (the unreadable one may be of that key type), nothing sent; --force removes', async () => {
    const { w, le, live } = await newWorld();
    const rsaLineage = writeCertbotLineage(le, 'example.com', rsa);
    writeCertbotLineage(le, 'example.com-ecdsa', ecc);
    await uploadedElsewhere(w, SITE, rsa, 'RSA');
    await uploadedElsewhere(w, SITE, ecc, 'ECC');
    // Mid-renewal, the RSA lineage's certificate cannot be read: its key type is unknown to this run.
    rmSync(join(rsaLineage, 'fullchain.pem'));
    const before = w.fake.requests.length;
    const refused = await runCli(
      ['remove', '--site-id', SITE, '--auth-type', 'RSA', '--live-dir', live],
      w.env,
    );
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /^error: not removing the RSA custom certificate of site 1234567: what this host deploys is unknown: lineage .*example\.com skipped: /,
    );
    assert.equal(w.fake.requests.length, before, 'nothing sent');
    const forced = await runCli(
      ['remove', '--site-id', SITE, '--auth-type', 'RSA', '--live-dir', live, '--force'],
      w.env,
    );
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(w.fake.serving(SITE, 'RSA'), undefined);
  });
});

describe('sync --verify and pruneOtherKeyType', () => {
  it('pending within the verify grace, then exits 1 while the edge still serves the old certificate, without uploading again; then 0', async () => {
    const { w, le, live, env, edge } = await newEdgeWorld({ propagationMs: 60_000 });
    writeCertbotLineage(le, 'example.com', ecc);
    const first = await runCli(['sync', '--verify', '--live-dir', live], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /ECDSA: pending: /);
    // Past the verify grace (a hundredth of the 90-day lifetime, 21.6 hours: the record of the upload moved back),
    // the edge that still serves the old one is a failure.
    backdateDeliveries(w, 22 * 3_600_000);
    const stale = await runCli(['sync', '--verify', '--live-dir', live], env);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /ECDSA: stale: /);
    assert.equal(w.fake.acceptedUploads().length, 1);
    const again = await runCli(['sync', '--verify', '--live-dir', live], env);
    assert.equal(again.code, 1);
    assert.equal(w.fake.acceptedUploads().length, 1, 'not uploaded again');
    edge.propagationMs = 0;
    const later = await runCli(['sync', '--verify', '--live-dir', live], env);
    assert.equal(later.code, 0, later.stderr);
    assert.match(later.stdout, /ECDSA: served/);
  });

  it('removes the other key type this host uploaded only once the edge serves ours, never one this host deploys', async () => {
    const { w, le, live, edge, configure } = await newEdgeWorld();
    configure({ pruneOtherKeyType: true, edgeAddress: edge.address });
    // This host deployed RSA, then its lineage switched to ECDSA (another host's RSA would be left: delivery.test.ts).
    writeCertbotLineage(le, 'example.com', oldRsa);
    assert.equal((await runCli(['sync', '--live-dir', live], w.env)).code, 0);
    writeCertbotLineage(le, 'example.com', ecc, 2);
    const result = await runCli(['sync', '--live-dir', live], w.env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /removed the RSA custom certificate this host uploaded \(pruneOtherKeyType; the edge serves ours\)/,
    );
    assert.equal(w.fake.serving(SITE, 'RSA'), undefined);
    assert.equal(w.fake.serving(SITE, 'ECC')?.fingerprint, ecc.fingerprint);
  });
});

describe('metrics', () => {
  it('deploy, status and verify merge into one textfile', async () => {
    const { w, le, live, env } = await newEdgeWorld();
    const file = join(w.dir, 'metrics', 'incap-cert.prom');
    const lineage = writeCertbotLineage(le, 'example.com', ecc);
    assert.equal(
      (await runCli(['deploy', '--metrics-file', file], { ...env, RENEWED_LINEAGE: lineage })).code,
      0,
    );
    assert.equal((await runCli(['status', '--metrics-file', file, '--live-dir', live], env)).code, 0);
    assert.equal((await runCli(['verify', '--metrics-file', file, '--live-dir', live], env)).code, 0);
    const text = readFileSync(file, 'utf8');
    for (const command of ['deploy', 'status', 'verify']) {
      assert.match(text, new RegExp(`^incap_cert_last_run_success\\{command="${command}"\\} 1$`, 'm'));
      assert.match(
        text,
        new RegExp(`^incap_cert_last_run_timestamp_seconds\\{command="${command}"\\} \\d+`, 'm'),
      );
    }
    const notAfter = String(ecc.notAfter.getTime() / 1000);
    for (const source of ['local', 'imperva', 'edge']) {
      assert.match(
        text,
        new RegExp(
          `^incap_cert_certificate_expiry_timestamp_seconds\\{site_id="${SITE}",key_type="ECC",source="${source}"\\} ${notAfter}$`,
          'm',
        ),
        source,
      );
    }
    assert.match(text, /^incap_cert_queue_entries 0$/m);
    // A dry run changes nothing and leaves the file as it was.
    const before = readFileSync(file, 'utf8');
    assert.equal(
      (
        await runCli(['deploy', '--dry-run', '--metrics-file', file], {
          ...env,
          RENEWED_LINEAGE: lineage,
          INCAP_CERT_CONFIG: w.configFile,
        })
      ).code,
      0,
    );
    assert.equal(readFileSync(file, 'utf8'), before);
  });
});
