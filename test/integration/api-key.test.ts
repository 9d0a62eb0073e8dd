/**
 * The API key watched like a certificate (issue "Ready for short-lived certificates"): the timer's run (sync),
 * `status` and `check` prove the key, read its own record where the key may, warn (exit 1) when it expires before
 * the next renewal is due or within 7 days, export its expiry as a metric, and find a disabled or expired key
 * between renewals. The secret in the record is never kept. Through the built CLI, against the fake API.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { Finding } from '../../src/model/finding.js';
import { runCli, writeConfig } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf, type Pki } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

const DAY = 86_400_000;
const SITE = '1234567';
let pki: Pki;
let fresh: Leaf;
let old: Leaf;
before(async () => {
  pki = await createPki();
  // A 90-day certificate issued an hour ago: its renewal is due in about 60 days.
  fresh = await issueLeaf(pki, { names: ['example.com'], keyType: 'ec' });
  // One issued 70 days ago: its renewal (two thirds in) is already due.
  old = await issueLeaf(pki, {
    names: ['example.com'],
    keyType: 'ec',
    notBefore: new Date(Date.now() - 70 * DAY),
    notAfter: new Date(Date.now() + 20 * DAY),
  });
});

let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

/** A world whose one site already serves `leaf` (a sync delivered it), the key's record readable. */
async function delivered(leaf: Leaf, keyExpiresInDays: number | null): Promise<{ w: World; live: string }> {
  const w = await createWorld({
    sites: { [SITE]: 'example.com' },
    map: { 'example.com': Number(SITE) },
  });
  world = w;
  const config = JSON.parse(readFileSync(w.configFile, 'utf8')) as Record<string, unknown>;
  writeConfig(w.dir, {
    ...config,
    ari: false,
    logFile: join(w.dir, 'incap-cert.log'),
    metricsFile: join(w.dir, 'metrics', 'incap-cert.prom'),
  });
  writeCertbotLineage(join(w.dir, 'le'), 'example.com', leaf);
  const live = join(w.dir, 'le', 'live');
  const first = await runCli(['sync', '--live-dir', live], w.env);
  assert.equal(first.code, 0, first.stderr);
  w.fake.keyRecord = 'ok';
  w.fake.keyExpiresAt = keyExpiresInDays === null ? null : Date.now() + keyExpiresInDays * DAY;
  w.fake.requests.length = 0;
  return { w, live };
}

function metrics(w: World): string {
  return readFileSync(join(w.dir, 'metrics', 'incap-cert.prom'), 'utf8');
}

/** Every file under `dir`, read as text. */
function everyFile(dir: string): Record<string, string> {
  const texts: Record<string, string> = {};
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    if (statSync(path).isFile()) texts[path] = readFileSync(path, 'latin1');
  }
  return texts;
}

describe("the key's expiry", () => {
  it('far off: status exits 0, says nothing, and the metrics file carries the expiry', async () => {
    const { w, live } = await delivered(fresh, 300);
    const result = await runCli(['status', '--live-dir', live], w.env);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout + result.stderr, /api key/i);
    const seconds = Math.floor((w.fake.keyExpiresAt as number) / 1000);
    assert.match(metrics(w), new RegExp(`^incap_cert_api_key_expiry_timestamp_seconds ${seconds}$`, 'm'));
    const asked = w.fake.requestsTo('api-clients');
    assert.equal(asked.length, 1);
    assert.equal(asked[0]?.query.id, '12345');
    assert.equal(w.fake.requestsTo('verify').length, 1, 'one account/verify proves the key');
  });

  it('before the next renewal is due: status, check and sync exit 1 with one line and the fix', async () => {
    const { w, live } = await delivered(fresh, 30);
    for (const command of ['status', 'check', 'sync']) {
      const result = await runCli([command, '--live-dir', live], w.env);
      assert.equal(result.code, 1, `${command}: ${result.stderr}`);
      const lines = result.stderr.split('\n').filter((line) => /api key/.test(line));
      assert.equal(lines.length, 1, `${command}: ${result.stderr}`);
      assert.match(
        lines[0] ?? '',
        /^error: api key: problem: the API key 12345 expires on \S+, before the next renewal is due \(.*example\.com, about \S+\); fix: extend the key's expiry .*before \S+$/,
      );
    }
  });

  it('within 7 days, with the renewal already due: status exits 1 and --json holds the finding', async () => {
    const { w, live } = await delivered(old, 5);
    const result = await runCli(['status', '--json', '--live-dir', live], w.env);
    assert.equal(result.code, 1, result.stderr);
    const doc = JSON.parse(result.stdout) as { findings: Finding[] };
    const key = doc.findings.filter((finding) => finding.kind === 'api-key');
    assert.equal(key.length, 1);
    assert.equal(key[0]?.ok, false);
    assert.match(key[0]?.message ?? '', /expires on \S+, within 7 days$/);
    assert.match(result.stderr, /within 7 days; fix: /);
  });

  it('no expiry date: nothing to warn of, and an earlier sample leaves the metrics file', async () => {
    const { w, live } = await delivered(fresh, 300);
    assert.equal((await runCli(['status', '--live-dir', live], w.env)).code, 0);
    assert.match(metrics(w), /^incap_cert_api_key_expiry_timestamp_seconds /m);
    w.fake.keyExpiresAt = null;
    const result = await runCli(['status', '--live-dir', live], w.env);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(metrics(w), /incap_cert_api_key_expiry_timestamp_seconds/);
  });

  it("the record's secret appears nowhere: stdout, stderr, the log, the state folder, the metrics", async () => {
    const { w, live } = await delivered(fresh, 30);
    const outputs: Record<string, string> = {};
    for (const args of [
      ['status', '-v'],
      ['status', '--json', '-v'],
      ['check', '-v'],
      ['sync', '-v'],
    ]) {
      const result = await runCli([...args, '--live-dir', live], w.env);
      assert.equal(result.code, 1, result.stderr);
      outputs[`${args.join(' ')} stdout`] = result.stdout;
      outputs[`${args.join(' ')} stderr`] = result.stderr;
    }
    const texts = {
      ...outputs,
      log: readFileSync(join(w.dir, 'incap-cert.log'), 'utf8'),
      metrics: metrics(w),
      ...everyFile(w.stateDir),
    };
    assert.ok(texts.log.includes('api key'), 'the log holds the finding');
    for (const [where, text] of Object.entries(texts))
      assert.ok(!text.includes(w.fake.recordSecret), `the record's secret appears in ${where}`);
    assert.ok(w.fake.requestsTo('api-clients').length >= 4);
  });
});

describe('a key that may not read its own record', () => {
  for (const mode of [403, 404] as const) {
    it(`HTTP ${mode}: not tracked, silent; said once with -v; exit 0`, async () => {
      const { w, live } = await delivered(fresh, 300);
      w.fake.keyRecord = mode;
      const quiet = await runCli(['status', '--live-dir', live], w.env);
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.doesNotMatch(quiet.stdout + quiet.stderr, /api key|not tracked/i);
      const verbose = await runCli(['sync', '-v', '--live-dir', live], w.env);
      assert.equal(verbose.code, 0, verbose.stderr);
      const lines = (verbose.stdout + verbose.stderr).split('\n').filter((line) => /not tracked/.test(line));
      assert.equal(lines.length, 1, verbose.stdout);
      assert.match(lines[0] ?? '', new RegExp(`^debug: api key: its expiry is not tracked: .*HTTP ${mode}`));
      assert.doesNotMatch(metrics(w), /incap_cert_api_key_expiry_timestamp_seconds/);
    });
  }
});

describe('a disabled or expired key is found by the timer, not by the next renewal', () => {
  it('disabled (res 9418): sync exits 1 with one line naming the fix and sends nothing more', async () => {
    const { w, live } = await delivered(fresh, 300);
    w.fake.disabledKey = true;
    const result = await runCli(['sync', '--live-dir', live], w.env);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, result.stderr);
    assert.match(
      lines[0] ?? '',
      /^error: Imperva refused the API credentials: .*res 9418.*; the key comes from .*config\.json \(api\.key\); fix: enable the key again/,
    );
    assert.deepEqual(
      w.fake.requests.map((request) => request.endpoint),
      ['verify'],
    );
  });

  it('its record says disabled: sync exits 1, one line with the fix', async () => {
    const { w, live } = await delivered(fresh, 300);
    w.fake.keyEnabled = false;
    const result = await runCli(['sync', '--live-dir', live], w.env);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^error: api key: problem: the API key 12345 is disabled at Imperva; fix: enable the key again/m,
    );
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
  });

  it('its record says expired: sync exits 1, one line with the fix', async () => {
    const { w, live } = await delivered(fresh, -1);
    const result = await runCli(['sync', '--live-dir', live], w.env);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^error: api key: problem: the API key 12345 expired on \S+; fix: create a new API key/m,
    );
  });
});
