/**
 * Issue 19's rules as classes, not examples, through the built CLI against the fake API (and the fake edge):
 * - every command that judges "current" or "served" (status, check, sync, verify, and the metrics they write) agrees
 *   on a site Imperva flags, whether the v3 listing (`hasMismatchSite`) or v1 sites/status
 *   (`hostnameMismatchError`) says it;
 * - coverage across lineages compares names as TLS does: case-insensitive, without a trailing dot, a wildcard for one
 *   label, in check, status and sync alike;
 * - every refusal code (4205, 9414, 9415, 9413, 9418, 9403) through every command that uploads (deploy, push, sync)
 *   and every one that reads (status, check, remove): one line naming the fix, never retried, queued where a later
 *   run can succeed; 9418 and 9403 stop the run's calls and name where the key came from.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, before, describe, it } from 'node:test';
import { v3Fault, type Endpoint } from '../support/fake-imperva.js';
import { backdateDeliveries, createEdgeWorld, type EdgeWorld } from '../support/edge-world.js';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf, type Pki } from '../support/pki.js';
import { wireHost } from '../support/wired-host.js';
import { createWorld, type World } from '../support/world.js';

const SITE = '1234567';
const HOUR = 3_600_000;
let pki: Pki;
let leaf: Leaf;
before(async () => {
  pki = await createPki();
  leaf = await issueLeaf(pki, { names: ['example.com'] });
});

let closing: (() => Promise<void>) | undefined;
afterEach(async () => {
  await closing?.();
  closing = undefined;
});

function queuedSites(w: World): string[] {
  if (!existsSync(w.queueFile)) return [];
  return (JSON.parse(readFileSync(w.queueFile, 'utf8')) as { entries: { siteId: string }[] }).entries.map(
    (entry) => entry.siteId,
  );
}

describe('a site Imperva flags: every command that judges it agrees', () => {
  for (const listing of ['v3 hasMismatchSite', 'v1 sites/status hostnameMismatchError'] as const) {
    it(`${listing}: status, check, verify and sync --verify fail it (exit 1), the metrics say so, nothing re-uploaded`, async () => {
      const made: EdgeWorld = await createEdgeWorld(SITE);
      closing = made.close;
      const { w, le, live, env } = made;
      if (listing !== 'v3 hasMismatchSite') w.fake.v3 = 403;
      writeCertbotLineage(le, 'example.com', leaf);
      assert.equal((await runCli(['sync', '--live-dir', live], env)).code, 0);
      backdateDeliveries(w, 22 * HOUR);
      w.fake.mismatched.add(SITE);
      const wired = wireHost(live, env).env;
      const metrics = join(w.dir, 'metrics', 'incap-cert.prom');
      const flaggedLine =
        /^error: site 1234567 \(example\.com\)(?: ECDSA)?: (?:flagged|upload failed): Imperva stored the certificate but flags it: the certificate does not cover the site's names at Imperva \(coverageError\)/m;

      const status = await runCli(['status', '--json', '--metrics-file', metrics, '--live-dir', live], wired);
      assert.equal(status.code, 1, status.stderr);
      const rows = (JSON.parse(status.stdout) as { sites: { siteId: string; state: string }[] }).sites;
      assert.deepEqual(
        rows.map((row) => [row.siteId, row.state]),
        [[SITE, 'flagged']],
      );

      const check = await runCli(['check', '--live-dir', live], wired);
      assert.equal(check.code, 1, check.stderr);
      assert.match(
        check.stderr,
        /site 1234567 \(example\.com\) ECDSA: flagged: Imperva stored the certificate but flags it/,
      );
      assert.doesNotMatch(check.stdout, /current, Imperva holds this host's certificate/);

      const verify = await runCli(['verify', '--metrics-file', metrics, '--live-dir', live], wired);
      assert.equal(verify.code, 1, verify.stdout + verify.stderr);
      assert.match(verify.stderr, flaggedLine);

      for (let run = 0; run < 2; run += 1) {
        const sync = await runCli(['sync', '--verify', '--metrics-file', metrics, '--live-dir', live], wired);
        assert.equal(sync.code, 1, sync.stderr);
        assert.match(sync.stderr, flaggedLine);
        assert.match(sync.stdout, /sync: 0 current, 0 uploaded, 1 failed/);
      }
      assert.equal(w.fake.acceptedUploads().length, 1, 'the flagged certificate is not sent again');
      assert.deepEqual(queuedSites(w), [SITE]);

      const text = readFileSync(metrics, 'utf8');
      for (const command of ['status', 'verify', 'sync'])
        assert.match(
          text,
          new RegExp(`^incap_cert_last_run_success\\{command="${command}"\\} 0$`, 'm'),
          command,
        );
    });
  }
});

describe('coverage across lineages compares names as TLS does', () => {
  const MAP = { 'A.Example.': 101, 'WWW.a.example.': '101', 'b.example': 202 };

  async function world(): Promise<{ w: World; le: string; live: string }> {
    const w = await createWorld({ sites: { '101': 'a.example', '202': 'b.example' }, map: MAP });
    closing = () => w.close();
    const le = join(w.dir, 'le');
    writeCertbotLineage(le, 'b.example', await issueLeaf(pki, { names: ['b.example'] }));
    return { w, le, live: join(le, 'live') };
  }

  it('case and a trailing dot do not split a site: one lineage (a wildcard in capitals) covers it; check, status and sync agree', async () => {
    const { w, le, live } = await world();
    writeCertbotLineage(le, 'a.example', await issueLeaf(pki, { names: ['a.example', '*.A.Example'] }));
    const sync = await runCli(['sync', '--live-dir', live], w.env);
    assert.equal(sync.code, 0, sync.stderr);
    assert.equal(sync.stderr, '');
    assert.deepEqual(
      w.fake
        .acceptedUploads()
        .map((upload) => upload.siteId)
        .sort(),
      ['101', '202'],
    );
    const wired = wireHost(live, w.env).env;
    for (const command of ['check', 'status']) {
      const result = await runCli([command, '--live-dir', live], wired);
      assert.equal(result.code, 0, `${command}: ${result.stderr}`);
      assert.doesNotMatch(result.stderr, /covers all of its names/, command);
    }
  });

  it('two lineages whose names differ only in case from the map: one line in check, status and sync; no upload there', async () => {
    const { w, le, live } = await world();
    writeCertbotLineage(le, 'a.example', await issueLeaf(pki, { names: ['A.EXAMPLE'] }));
    writeCertbotLineage(le, 'www.a.example', await issueLeaf(pki, { names: ['Www.A.Example'] }));
    const line =
      /^error: site 101 \(a\.example, www\.a\.example\): no ECDSA certificate on this host covers all of its names, and Imperva keeps one per site and key type \(\S+\/live\/a\.example has a\.example; \S+\/live\/www\.a\.example has www\.a\.example\); fix: certbot certonly --cert-name a\.example -d a\.example -d www\.a\.example --expand/;
    for (const command of ['check', 'status', 'sync']) {
      const result = await runCli([command, '--live-dir', live], w.env);
      assert.equal(result.code, 1, `${command}: ${result.stderr}`);
      const lines = result.stderr.split('\n').filter((one) => one.startsWith('error: site 101 ('));
      assert.equal(lines.length, 1, `${command}: ${result.stderr}`);
      assert.match(lines[0] ?? '', line, command);
    }
    assert.deepEqual(
      w.fake.uploads().map((upload) => upload.siteId),
      ['202'],
    );
    assert.deepEqual(queuedSites(w), ['101']);
  });
});

describe('one lineage RSA, the other ECDSA, for one site: status and verify agree with check and sync', () => {
  it('status says it per key type (exit 1); pushed anyway, verify finds what ECDSA and RSA browsers get wrong', async () => {
    const made = await createEdgeWorld(SITE, {
      map: { 'example.com': Number(SITE), 'www.example.com': Number(SITE) },
    });
    closing = made.close;
    const { w, le, live, env } = made;
    w.fake.sites.get(SITE)?.names.push('www.example.com');
    const rsa = await issueLeaf(pki, { names: ['example.com'], keyType: 'rsa' });
    const ecc = await issueLeaf(pki, { names: ['www.example.com'], keyType: 'ec' });
    const rsaLineage = writeCertbotLineage(le, 'example.com', rsa);
    const eccLineage = writeCertbotLineage(le, 'www.example.com', ecc);

    const status = await runCli(['status', '--live-dir', live], env);
    assert.equal(status.code, 1, status.stderr);
    const lines = status.stderr.split('\n').filter((line) => line.startsWith(`error: site ${SITE} (`));
    assert.equal(lines.length, 2, status.stderr);
    assert.ok(lines.some((line) => /no RSA certificate on this host covers all of its names/.test(line)));
    assert.ok(lines.some((line) => /no ECDSA certificate on this host covers all of its names/.test(line)));

    // As the map does today with --force: each name is served by its own lineage's key type only.
    for (const lineage of [rsaLineage, eccLineage])
      assert.equal((await runCli(['push', '--lineage', lineage, '--force'], env)).code, 0);
    backdateDeliveries(w, 22 * HOUR);
    const verify = await runCli(['verify', '--json', '--live-dir', live], env);
    assert.equal(verify.code, 1, verify.stdout + verify.stderr);
    const edges = (JSON.parse(verify.stdout) as { edges: { name: string; offered: string; state: string }[] })
      .edges;
    const stateOf = (name: string, offered: string) =>
      edges.find((row) => row.name === name && row.offered === offered)?.state;
    // A browser offering both gets the ECDSA certificate, which does not cover example.com.
    assert.equal(stateOf('example.com', 'both'), 'wrong');
    assert.equal(stateOf('www.example.com', 'both'), 'served');
    assert.equal(stateOf('example.com', 'ECC'), 'wrong');
    assert.equal(stateOf('www.example.com', 'RSA'), 'wrong');
    assert.equal(stateOf('example.com', 'RSA'), 'served');
    assert.equal(stateOf('www.example.com', 'ECC'), 'served');
  });
});

describe('a leaf pushed without its chain over a good one', () => {
  it('is never called current or served: status fails it, verify sees the chain the edge serves, sync puts the full chain back', async () => {
    const made = await createEdgeWorld(SITE);
    closing = made.close;
    const { w, le, live, env } = made;
    writeCertbotLineage(le, 'example.com', leaf);
    assert.equal((await runCli(['sync', '--live-dir', live], env)).code, 0);
    // The same leaf, alone, pushed by hand with --force: Imperva flags the chain, and its edge serves the leaf alone.
    const alone = join(w.dir, 'alone');
    mkdirSync(alone);
    writeFileSync(join(alone, 'cert.pem'), leaf.certPem);
    writeFileSync(join(alone, 'privkey.pem'), leaf.keyPem, { mode: 0o600 });
    const forced = await runCli(
      ['push', '--cert', join(alone, 'cert.pem'), '--key', join(alone, 'privkey.pem'), '--force'],
      env,
    );
    assert.equal(forced.code, 1, forced.stderr);
    assert.equal(w.fake.serving(SITE)?.chainLength, 1);
    backdateDeliveries(w, 22 * HOUR);

    const status = await runCli(['status', '--json', '--live-dir', live], env);
    assert.equal(status.code, 1, status.stdout);
    const rows = (JSON.parse(status.stdout) as { sites: { state: string }[] }).sites;
    assert.notEqual(rows[0]?.state, 'current');

    const verify = await runCli(['verify', '--live-dir', live], env);
    assert.equal(verify.code, 1, verify.stdout);
    assert.match(
      verify.stderr,
      /^error: site 1234567 \(example\.com\) ECDSA: wrong: serves the local certificate without the certificate that issued it \(the chain the edge serves is incomplete: upload fullchain\.pem/m,
    );

    // The timer's run delivers the full chain again; then the edge serves it, and every command agrees.
    const sync = await runCli(['sync', '--verify', '--live-dir', live], env);
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stdout, /sync: 0 current, 1 uploaded, 0 failed/);
    assert.equal(w.fake.serving(SITE)?.chainLength, 2);
    const again = await runCli(['sync', '--live-dir', live], env);
    assert.match(again.stdout, /sync: 1 current, 0 uploaded, 0 failed/);
    assert.equal((await runCli(['verify', '--live-dir', live], env)).code, 0);
  });
});

/** Each refusal, how the fake gives it, and what the one line must name. */
const REFUSALS: [number, RegExp][] = [
  [4205, /res 4205 .*turn on SSL for the site in Imperva's console/],
  [9414, /res 9414 .*the account's plan has no custom certificates/],
  [9415, /res 9415 .*not allowed on this account type: ask Imperva support/],
  [
    9413,
    /(?:res 9413 .*unknown or unauthorized site id: check the sites map|unknown site id|Imperva does not know this site id.*res 9413)/,
  ],
];
const STOPS: [number, RegExp][] = [
  [9418, /res 9418 .*the API key is disabled: enable it again/],
  [9403, /res 9403 .*unknown or unauthorized account: check api\.id/],
];
const V1: Exclude<Endpoint, 'other'>[] = [
  'verify',
  'upload',
  'status',
  'remove',
  'api-clients',
  'own-certificates',
];

async function refusalWorld(): Promise<{ w: World; lineage: string; live: string; empty: string }> {
  const w = await createWorld({
    sites: { '101': 'example.com', '102': 'example.com', '103': 'example.com' },
    map: { 'example.com': [101, 102, 103] },
    // One call at a time: what "stops the run's calls" means is then exact (in-flight calls cannot be taken back).
    config: { concurrency: 1 },
  });
  closing = () => w.close();
  const lineage = writeCertbotLineage(join(w.dir, 'le'), 'example.com', leaf);
  const empty = join(w.dir, 'empty-live');
  mkdirSync(empty);
  return { w, lineage, live: join(w.dir, 'le', 'live'), empty };
}

function argsOf(command: string, lineage: string, live: string, empty: string): string[] {
  if (command === 'deploy') return ['deploy'];
  if (command === 'push') return ['push', '--lineage', lineage];
  if (command === 'remove')
    return ['remove', '--site-id', '101', '--key-type', 'ECDSA', '--live-dir', empty, '--force'];
  return [command, '--live-dir', live];
}

describe('each refusal the operator must mend, through every command that uploads or reads', () => {
  for (const [res, fix] of REFUSALS) {
    for (const command of ['deploy', 'push', 'sync']) {
      it(`res ${res}, ${command}: one line per site naming the fix, one try each, queued`, async () => {
        const { w, lineage, live, empty } = await refusalWorld();
        w.fake.inject({ endpoint: 'upload', times: Infinity, fault: { res } });
        const result = await runCli(argsOf(command, lineage, live, empty), {
          ...w.env,
          RENEWED_LINEAGE: lineage,
        });
        assert.equal(result.code, 1, result.stderr);
        const errors = result.stderr.split('\n').filter((line) => line.startsWith('error: '));
        assert.equal(errors.length, 1, result.stderr);
        assert.match(errors[0] ?? '', fix);
        assert.match(
          errors[0] ?? '',
          /site 101 \(example\.com\), site 102 \(example\.com\),? (?:and )?site 103/,
        );
        assert.equal(w.fake.uploads().length, 3, 'never retried');
        assert.deepEqual(queuedSites(w).sort(), ['101', '102', '103']);
      });
    }
    for (const command of ['status', 'check']) {
      it(`res ${res}, ${command} (v1 sites/status): the site named with the fix, exit 1, never "holds no custom certificate"`, async () => {
        const { w, lineage, live, empty } = await refusalWorld();
        w.fake.v3 = 403;
        w.fake.inject({ endpoint: 'status', times: Infinity, fault: { res } });
        const result = await runCli(argsOf(command, lineage, live, empty), w.env);
        assert.equal(result.code, 1, result.stderr);
        const output = result.stdout + result.stderr;
        if (command === 'check') {
          for (const site of ['101', '102', '103'])
            assert.match(output, new RegExp(`^.*site ${site}\\b.*${fix.source}.*$`, 'm'), `site ${site}`);
          // The fix is the refusal's own, not "run check again".
          assert.match(output, /problem: .*site 101\b.*; fix: /, output);
          assert.doesNotMatch(output, /site 101\b.*; fix: (?:run )?incap-cert check\b/, output);
        } else {
          // status: the table names each site in error, and one line the cause they share, with its fix.
          for (const site of ['101', '102', '103'])
            assert.match(result.stdout, new RegExp(`^${site} .* error +- +error +-$`, 'm'), `site ${site}`);
          const lines = result.stdout.split('\n').filter((line) => fix.test(line));
          assert.equal(lines.length, 1, result.stdout);
          assert.match(lines[0] ?? '', /^3 sites \(site 101\b[^,]*, site 102\b[^,]*, site 103\b[^)]*\): /);
        }
        assert.doesNotMatch(output, /holds no custom certificate/);
        assert.equal(w.fake.uploads().length, 0);
        // Never retried: one read per site (status asks once more per site for Imperva's own certificate, the
        // fallback, when the v3 listing of those is closed too), not the retry loop's attempts.
        const reads = w.fake.requestsTo('status').length;
        assert.ok(reads === 3 || (command === 'status' && reads === 6), `${reads} reads of sites/status`);
      });
    }
    it(`res ${res}, remove: one line naming the fix, nothing removed`, async () => {
      const { w, lineage, live, empty } = await refusalWorld();
      assert.equal((await runCli(['push', '--lineage', lineage], w.env)).code, 0);
      w.fake.inject({ endpoint: 'remove', times: Infinity, fault: { res } });
      const result = await runCli(argsOf('remove', lineage, live, empty), w.env);
      assert.equal(result.code, res === 9413 ? 2 : 1, result.stderr);
      const errors = result.stderr.split('\n').filter((line) => line.startsWith('error: '));
      assert.equal(errors.length, 1, result.stderr);
      assert.match(errors[0] ?? '', fix);
      assert.equal(w.fake.requestsTo('remove').length, 1, 'never retried');
      assert.equal(w.fake.acceptedRemovals().length, 0);
    });
  }

  for (const [res, fix] of STOPS) {
    for (const command of ['deploy', 'push', 'sync', 'status', 'check', 'remove']) {
      it(`res ${res}, ${command}: the run's calls stop at the first, one line naming where the key came from`, async () => {
        const { w, lineage, live, empty } = await refusalWorld();
        // A disabled key or an unknown account: v1 answers the code everywhere; v3 answers 401.
        for (const endpoint of V1) w.fake.inject({ endpoint, times: Infinity, fault: { res } });
        w.fake.inject({ endpoint: 'certificates', times: Infinity, fault: v3Fault('401') });
        const result = await runCli(argsOf(command, lineage, live, empty), {
          ...w.env,
          RENEWED_LINEAGE: lineage,
        });
        assert.equal(result.code, 1, result.stderr);
        const errors = result.stderr.split('\n').filter((line) => line.startsWith('error: '));
        assert.equal(errors.length, 1, result.stderr);
        assert.match(errors[0] ?? '', /^error: Imperva refused the API credentials: /);
        assert.match(errors[0] ?? '', fix);
        assert.ok(errors[0]?.includes(`the key comes from ${w.configFile} (api.key)`), errors[0]);
        const refused = w.fake.requests.filter((request) => request.res === res);
        assert.equal(
          refused.length,
          1,
          `one refused call, then none: ${w.fake.requests.map((r) => r.endpoint).join(' ')}`,
        );
        assert.ok(w.fake.uploads().length <= 1);
        assert.equal(w.fake.acceptedRemovals().length, 0);
        if (command === 'deploy' || command === 'push')
          assert.deepEqual(queuedSites(w).sort(), ['101', '102', '103']);
      });
    }
  }
});
