/**
 * Nothing lost: transient failures are retried, lasting ones queued, and sync delivers from the live certificates
 * and the queue. Everything through the built CLI against the fake Imperva API.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Fault } from '../support/fake-imperva.js';
import { runCli, tempDir, writeConfig } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf, type Pki } from '../support/pki.js';
import { API_ID, assertNoSecrets, createWorld, secretsOf, type World } from '../support/world.js';

let pki: Pki;
let ec: Leaf;
before(async () => {
  pki = await createPki();
  ec = await issueLeaf(pki, { names: ['example.com'] });
});

let world: World;
afterEach(() => world?.close());
after(() => world?.close());

interface QueueFile {
  entries: {
    siteId: string;
    fingerprint: string;
    attempts: number;
    lastError: string;
    source: { lineage?: string; cert: string };
  }[];
}
const queueOf = (w: World): QueueFile => JSON.parse(readFileSync(w.queueFile, 'utf8')) as QueueFile;

async function deployOnce(options: { config?: Record<string, unknown> } = {}) {
  world = await createWorld({
    map: { 'example.com': 1234567 },
    ...(options.config ? { config: options.config } : {}),
  });
  const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
  return { lineage, run: () => runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage }) };
}

describe('retries of transient failures', () => {
  const transient: [string, Fault, RegExp][] = [
    [
      'HTTP 502 with HTML',
      { status: 502, body: '<html>Bad gateway</html>' },
      /Imperva answered HTTP 502 with an HTML page/,
    ],
    [
      'HTTP 200 with HTML',
      { status: 200, body: '<html>Request unsuccessful. Incapsula incident ID</html>' },
      /HTML page instead of JSON \(HTTP 200\)/,
    ],
    ['res 3015', { res: 3015 }, /Imperva answered res 3015 "Internal error"/],
    ['res 4', { res: 4 }, /Imperva answered res 4 /],
    ['a connection reset', { reset: true }, /cannot reach 127\.0\.0\.1 \(ECONNRESET\)/],
    ['truncated JSON', { contentType: 'application/json', body: '{"res":0,"res_mess' }, /not JSON/],
  ];
  for (const [title, fault, reason] of transient) {
    it(`${title} once, then OK: retried, delivered, exit 0`, async () => {
      const { run } = await deployOnce();
      world.fake.inject({ endpoint: 'upload', fault });
      const result = await run();
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '');
      const lines = result.stdout.trimEnd().split('\n');
      assert.equal(lines.length, 2);
      assert.match(lines[0] ?? '', /^site 1234567: .*; retrying in \d+\.\d s \(attempt 2 of 4\)$/);
      assert.match(lines[0] ?? '', reason);
      assert.equal(lines[1], 'uploaded example.com → site 1234567');
      assert.deepEqual(
        world.fake.uploads().map((u) => u.siteId),
        ['1234567', '1234567'],
      );
      assert.equal(world.fake.serving('1234567')?.fingerprint, ec.fingerprint);
      assert.equal(existsSync(world.queueFile), false, 'nothing queued');
    });
  }

  it('HTTP 429 then OK: waits as Retry-After says', async () => {
    const { run } = await deployOnce();
    world.fake.inject({
      endpoint: 'upload',
      fault: { status: 429, body: 'slow down', headers: { 'retry-after': '1' } },
    });
    const result = await run();
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^site 1234567: Imperva is throttling requests \(HTTP 429\); retrying in 1\.0 s \(throttled: uses up no attempt\)$/m,
    );
    const [first, second] = world.fake.uploads();
    assert.ok((second?.at ?? 0) - (first?.at ?? 0) >= 950, 'the second attempt came after Retry-After');
  });

  it('a hang past the timeout, then OK', async () => {
    const { run } = await deployOnce({ config: { timeoutSeconds: 0.3 } });
    world.fake.inject({ endpoint: 'upload', fault: { hang: true } });
    const result = await run();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^site 1234567: no answer from Imperva within 0\.3 s; retrying in/m);
    assert.equal(world.fake.acceptedUploads().length, 1);
  });

  it('gives up after 4 attempts, queues the site and exits 1', async () => {
    const { lineage, run } = await deployOnce();
    world.fake.inject({
      endpoint: 'upload',
      times: Infinity,
      fault: { status: 503, body: '<html>down</html>' },
    });
    const result = await run();
    assert.equal(result.code, 1);
    assert.equal(world.fake.uploads().length, 4);
    // One cause, one line: the first retry is said, the rest only with -v.
    assert.equal((result.stdout.match(/retrying in/g) ?? []).length, 1);
    assert.match(
      result.stderr,
      /^error: site 1234567 \(example\.com\): upload failed: Imperva answered HTTP 503 with an HTML page$/m,
    );
    const [entry] = queueOf(world).entries;
    assert.deepEqual(
      [entry?.siteId, entry?.fingerprint, entry?.attempts, entry?.source.lineage],
      ['1234567', ec.fingerprint, 4, lineage],
    );
  });

  it('stops retrying when the run deadline would pass', async () => {
    const { run } = await deployOnce({ config: { deadlineSeconds: 1, retryDelaySeconds: 5 } });
    world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { res: 3015 } });
    const result = await run();
    assert.equal(result.code, 1);
    assert.equal(world.fake.uploads().length, 1);
    assert.match(result.stderr, /res 3015 .*; no retry: the run's deadline would pass first$/m);
    assert.equal(queueOf(world).entries.length, 1);
  });
});

describe('lasting failures are queued, and sync delivers them', () => {
  it('9413: one attempt, not retried, queued; sync delivers once the site exists', async () => {
    world = await createWorld({ sites: {}, map: {} });
    const le = join(world.dir, 'le');
    const lineage = writeCertbotLineage(le, 'example.com', ec);
    const push = await runCli(
      [
        'push',
        '--cert',
        join(lineage, 'fullchain.pem'),
        '--key',
        join(lineage, 'privkey.pem'),
        '--site-id',
        '31337',
      ],
      world.env,
    );
    assert.equal(push.code, 1);
    assert.equal(world.fake.uploads().length, 1);
    assert.match(push.stderr, /res 9413/);
    const [entry] = queueOf(world).entries;
    assert.deepEqual(
      [entry?.siteId, entry?.attempts, entry?.source.cert],
      ['31337', 1, join(lineage, 'fullchain.pem')],
    );

    world.fake.addSite('31337', 'example.com');
    const emptyLive = tempDir();
    const sync = await runCli(['sync', '--live-dir', emptyLive], world.env);
    assert.equal(sync.code, 0, sync.stderr);
    assert.equal(sync.stdout, 'uploaded example.com → site 31337\nsync: 0 current, 1 uploaded, 0 failed\n');
    assert.equal(world.fake.serving('31337')?.fingerprint, ec.fingerprint);
    assert.deepEqual(queueOf(world).entries, []);
  });

  it('sync uploads where Imperva serves something else, and a second sync uploads nothing', async () => {
    world = await createWorld({
      sites: { '1': 'a.example', '2': 'b.example', '3': 'c.example' },
      map: { 'a.example': 1, 'b.example': 2, 'c.example': 3 },
    });
    const le = join(world.dir, 'le');
    const a = await issueLeaf(pki, { names: ['a.example'] });
    const b = await issueLeaf(pki, { names: ['b.example'], keyType: 'rsa' });
    const c = await issueLeaf(pki, { names: ['c.example'] });
    writeCertbotLineage(le, 'a.example', a);
    writeCertbotLineage(le, 'b.example', b);
    const cLive = writeCertbotLineage(le, 'c.example', c);
    // c already serves its certificate; a and b serve nothing.
    assert.equal((await runCli(['push', '--lineage', cLive], world.env)).code, 0);
    world.fake.requests.length = 0;

    const first = await runCli(['sync', '--live-dir', join(le, 'live')], world.env);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(
      first.stdout,
      'uploaded a.example → site 1\nuploaded b.example → site 2\nsync: 1 current, 2 uploaded, 0 failed\n',
    );
    assert.deepEqual(
      world.fake.uploads().map((u) => [u.siteId, u.form.auth_type, u.form.input_hash]),
      [
        ['1', 'ECC', a.fingerprint],
        ['2', 'RSA', b.fingerprint],
      ],
    );
    world.fake.requests.length = 0;
    const second = await runCli(['sync', '--live-dir', join(le, 'live')], world.env);
    assert.equal(second.code, 0);
    assert.equal(second.stdout, 'sync: 3 current, 0 uploaded, 0 failed\n');
    assert.equal(world.fake.uploads().length, 0);
    // One account-wide v3 listing tells what all three sites hold (issue 10; v1 status per site when v3 is closed),
    // after the key's proof; the key's record is asked after the uploads (test/integration/api-key.test.ts).
    assert.deepEqual(
      world.fake.requests.map((r) => r.endpoint),
      ['verify', 'certificates', 'api-clients'],
    );
  });

  it('sync after the state folder was wiped still delivers what a failed deploy owed', async () => {
    const { lineage, run } = await deployOnce();
    world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { status: 502, body: '<html/>' } });
    assert.equal((await run()).code, 1);
    assert.equal(queueOf(world).entries.length, 1);
    rmSync(world.stateDir, { recursive: true });
    world.fake.clearFaults();

    const sync = await runCli(['sync', '--live-dir', join(lineage, '..')], world.env);
    assert.equal(sync.code, 0, sync.stderr);
    assert.equal(sync.stdout, 'uploaded example.com → site 1234567\nsync: 0 current, 1 uploaded, 0 failed\n');
    assert.equal(world.fake.serving('1234567')?.fingerprint, ec.fingerprint);
  });

  it('sync picks the newest of several lineages for a site, and the queue entry goes once it is served', async () => {
    const { lineage, run } = await deployOnce();
    world.fake.inject({ endpoint: 'upload', times: 4, fault: { res: 3015 } });
    assert.equal((await run()).code, 1);
    const newer = await issueLeaf(pki, {
      names: ['example.com'],
      notAfter: new Date(Date.now() + 100 * 86_400_000),
    });
    writeCertbotLineage(join(world.dir, 'le'), 'example.com-0001', newer);
    const sync = await runCli(['sync', '--live-dir', join(lineage, '..')], world.env);
    assert.equal(sync.code, 0, sync.stderr);
    assert.equal(world.fake.serving('1234567')?.fingerprint, newer.fingerprint);
    assert.deepEqual(queueOf(world).entries, []);
  });

  it('sync --dry-run asks but uploads nothing', async () => {
    const { lineage } = await deployOnce();
    const sync = await runCli(['sync', '--dry-run', '--live-dir', join(lineage, '..')], world.env);
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stdout, /^dry run: would upload example\.com .* → site 1234567$/m);
    assert.deepEqual(
      world.fake.requests.map((r) => r.endpoint),
      ['verify', 'certificates'],
    );
  });
});

describe('status', () => {
  it('shows each mapped site current after a deploy, exit 0; --json for monitoring', async () => {
    const { lineage, run } = await deployOnce();
    assert.equal((await run()).code, 0);
    const text = await runCli(['status', '--live-dir', join(lineage, '..')], world.env);
    assert.equal(text.code, 0, text.stderr);
    const [header, row] = text.stdout.trimEnd().split('\n');
    assert.match(header ?? '', /^SITE\s+NAMES\s+KEY\s+LOCAL\s+IMPERVA\s+DAYS\s+STATE\s+QUEUED$/);
    assert.match(
      row ?? '',
      new RegExp(
        `^1234567\\s+example\\.com\\s+(ECDSA|ECC)\\s+\\d{4}-\\d\\d-\\d\\d sha256 ${ec.fingerprint.slice(0, 8)}…\\s+` +
          '\\d{4}-\\d\\d-\\d\\d\\s+\\d+\\s+current\\s+-$',
      ),
    );

    const json = await runCli(['status', '--json', '--live-dir', join(lineage, '..')], world.env);
    assert.equal(json.code, 0);
    const parsed = JSON.parse(json.stdout) as { sites: Record<string, unknown>[] };
    assert.deepEqual(parsed.sites[0]?.state, 'current');
    assert.deepEqual((parsed.sites[0]?.local as { fingerprint: string }).fingerprint, ec.fingerprint);
    assert.deepEqual(parsed.sites[0]?.queued, null);
  });

  it('exits 1 and shows the queued failure when a site is behind', async () => {
    const { lineage, run } = await deployOnce();
    world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { res: 9414 } });
    assert.equal((await run()).code, 1);
    const json = await runCli(['status', '--json', '--live-dir', join(lineage, '..')], world.env);
    assert.equal(json.code, 1);
    const site = (
      JSON.parse(json.stdout) as {
        sites: { state: string; queued: { attempts: number; lastError: string } }[];
      }
    ).sites[0];
    assert.equal(site?.state, 'missing');
    assert.equal(site?.queued.attempts, 1);
    assert.match(site?.queued.lastError ?? '', /res 9414/);
  });
});

describe('onFailure', () => {
  it('runs the command once with a JSON summary on stdin, without the key in its input or environment', async () => {
    const out = join(tempDir(), 'summary.json');
    const script = `const fs=require('fs');let s='';process.stdin.on('data',d=>s+=d).on('end',()=>fs.writeFileSync(${JSON.stringify(out)}, JSON.stringify({stdin:s, env:process.env})))`;
    world = await createWorld({
      map: { 'example.com': [1234567, 404] },
      config: { onFailure: [process.execPath, '-e', script] },
    });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
    const result = await runCli(['deploy'], {
      ...world.env,
      RENEWED_LINEAGE: lineage,
      IMPERVA_API_KEY: world.apiKey,
    });
    assert.equal(result.code, 1);
    const { stdin, env } = JSON.parse(readFileSync(out, 'utf8')) as {
      stdin: string;
      env: Record<string, string>;
    };
    const summary = JSON.parse(stdin) as { command: string; sites: Record<string, unknown>[] };
    assert.equal(summary.command, 'deploy');
    assert.equal(summary.sites.length, 1);
    assert.deepEqual(
      [
        summary.sites[0]?.siteId,
        summary.sites[0]?.res,
        summary.sites[0]?.fingerprint,
        summary.sites[0]?.lineage,
        summary.sites[0]?.queued,
      ],
      ['404', 9413, ec.fingerprint, lineage, true],
    );
    assert.equal(env.IMPERVA_API_KEY, undefined);
    assertNoSecrets({ 'onFailure input': stdin }, secretsOf(world.apiKey, ec));
  });

  it("logs the command's own failure and keeps the run's exit code", async () => {
    world = await createWorld({
      map: { 'example.com': 404 },
      config: { onFailure: ['/nonexistent/notify'] },
    });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^warning: onFailure command \/nonexistent\/notify could not run \(ENOENT\)$/m,
    );
  });

  it('is not run when every site succeeded', async () => {
    const marker = join(tempDir(), 'ran');
    world = await createWorld({
      map: { 'example.com': 1234567 },
      config: { onFailure: ['/usr/bin/touch', marker] },
    });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
    assert.equal((await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage })).code, 0);
    assert.equal(existsSync(marker), false);
  });
});

describe('the state folder', () => {
  it('unwritable: the push still happens and the queue problem is reported', async () => {
    world = await createWorld({ map: { 'example.com': [1234567, 404] } });
    const blocker = join(world.dir, 'not-a-folder');
    writeFileSync(blocker, '');
    writeConfig(world.dir, {
      api: { id: API_ID, key: world.apiKey, baseUrl: world.fake.url },
      sites: { 'example.com': [1234567, 404] },
      stateDir: join(blocker, 'state'),
      retryDelaySeconds: 0.01,
    });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 1);
    assert.equal(world.fake.serving('1234567')?.fingerprint, ec.fingerprint);
    assert.match(
      result.stderr,
      new RegExp(
        `^error: cannot update the retry queue in ${join(blocker, 'state').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(ENOTDIR\\); the uploads above stand, but failures were not queued for sync$`,
        'm',
      ),
    );
  });

  it('a corrupt queue is kept aside and reported, and the new failure is queued', async () => {
    const { run } = await deployOnce();
    world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { res: 9415 } });
    const { mkdirSync } = await import('node:fs');
    mkdirSync(world.stateDir, { recursive: true });
    writeFileSync(world.queueFile, 'not json at all');
    const result = await run();
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^warning: retry queue .*queue\.json was corrupt; kept aside as .*queue\.json\.corrupt-/m,
    );
    assert.equal(queueOf(world).entries.length, 1);
  });
});
