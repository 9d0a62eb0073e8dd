/**
 * The CA's schedule (ARI, RFC 9773) through the built CLI: status and check ask the fake CA at the ACME server
 * Certbot's renewal configuration names, and say per lineage whether the client is late, whether the CA asks for
 * an early renewal, and whether the edge is behind a renewal.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { FakeCa } from '../support/fake-ca.js';
import { runCli, tempDir } from '../support/harness.js';
import { RecordingProxy } from '../support/recording-proxy.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf, type Pki } from '../support/pki.js';
import { type World } from '../support/world.js';
import { createAriWorld } from '../support/ari-world.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const NAME = 'example.com';

interface Finding {
  kind: string;
  subject: string;
  ok: boolean;
  message: string;
  fix: string | null;
}

let pki: Pki | undefined;
let world: World | undefined;
let ca: FakeCa | undefined;
afterEach(async () => {
  await world?.close();
  await ca?.close();
  world = undefined;
  ca = undefined;
});

/** A world with a Certbot lineage for example.com of `days` days, issued `ageDays` ago, renewed by `version`. */
async function setUp(
  days: number,
  ageDays: number,
  options: { version?: string; config?: Record<string, unknown>; server?: string } = {},
) {
  pki ??= await createPki();
  const made = await createAriWorld(pki, days, ageDays, options);
  world = made.world;
  ca = made.ca;
  return made;
}

async function status(
  liveDir: string,
): Promise<{ code: number | null; findings: Finding[]; stderr: string }> {
  const run = await runCli(['status', '--json', '--live-dir', liveDir], (world as World).env);
  const doc = JSON.parse(run.stdout) as { findings?: Finding[] };
  return { code: run.code, findings: doc.findings ?? [], stderr: run.stderr };
}

const kinds = (findings: readonly Finding[]) => findings.filter((f) => !f.ok).map((f) => f.kind);

describe('the CA schedule (ARI)', () => {
  it('asks renewalInfo with the certificate identifier and keeps the answer while Retry-After runs', async () => {
    const { liveDir, id, now } = await setUp(90, 1);
    const start = new Date(now + 58 * DAY);
    (ca as FakeCa).answers.set(id, { window: { start, end: new Date(now + 60 * DAY) }, retryAfter: '21600' });
    const first = await status(liveDir);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual((ca as FakeCa).requests, ['/directory', `/renewal-info/${id}`]);
    const window = first.findings.find((f) => f.kind === 'ari-window');
    assert.ok(window?.ok, JSON.stringify(first.findings));
    assert.match(window.message, new RegExp(`${start.toISOString()}.*from the CA`));
    const second = await status(liveDir);
    assert.equal(second.code, 0, second.stderr);
    assert.equal((ca as FakeCa).asked, 1, 'asked again before Retry-After ended');
    assert.deepEqual(second.findings, first.findings);
  });

  it('acme-client-late: 12 h after the window ended the lineage still holds the certificate (6-day)', async () => {
    const { liveDir, id, now } = await setUp(6, 5);
    (ca as FakeCa).answers.set(id, {
      window: { start: new Date(now - 2 * DAY), end: new Date(now - 13 * HOUR) },
    });
    const run = await status(liveDir);
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(kinds(run.findings), ['acme-client-late']);
    const late = run.findings.find((f) => f.kind === 'acme-client-late');
    assert.equal(late?.fix, `certbot renew --cert-name ${NAME}`);
    assert.match(run.stderr, /schedule: problem: example\.com: the renewal window ended/);
  });

  it('is not late within 12 h of the window end', async () => {
    const { liveDir, id, now } = await setUp(6, 5);
    (ca as FakeCa).answers.set(id, {
      window: { start: new Date(now - 2 * DAY), end: new Date(now - 11 * HOUR) },
    });
    const run = await status(liveDir);
    // Exit 1 all the same: one day left is within the expiry warning.
    assert.deepEqual(kinds(run.findings), [], run.stderr);
  });

  for (const [version, fix] of [
    ['2.11.0', `certbot renew --cert-name ${NAME} --force-renewal`],
    ['4.1.1', `certbot renew --cert-name ${NAME}`],
  ] as const) {
    it(`early-renewal-requested: the window moved into the past (45-day, Certbot ${version})`, async () => {
      const { liveDir, id, now } = await setUp(45, 3, { version });
      (ca as FakeCa).answers.set(id, {
        window: { start: new Date(now - 2 * HOUR), end: new Date(now - HOUR) },
        explanationUrl: 'https://ca.example/incident/42',
      });
      const run = await status(liveDir);
      assert.equal(run.code, 1, run.stderr);
      assert.deepEqual(kinds(run.findings), ['early-renewal-requested']);
      const early = run.findings.find((f) => f.kind === 'early-renewal-requested');
      assert.match(early?.message ?? '', /https:\/\/ca\.example\/incident\/42/);
      assert.equal(early?.fix, fix);
    });
  }

  it('early-renewal-requested when a window the CA gave moves earlier into the present', async () => {
    const { liveDir, id, now } = await setUp(90, 10);
    const fake = ca as FakeCa;
    fake.answers.set(id, {
      window: { start: new Date(now + 50 * DAY), end: new Date(now + 52 * DAY) },
      retryAfter: '60',
    });
    assert.equal((await status(liveDir)).code, 0);
    // The cache holds it for a minute: its Retry-After is taken as over (no wait), and the CA now moves the window.
    fake.answers.set(id, { window: { start: new Date(now - HOUR), end: new Date(now + 3 * DAY) } });
    const cache = join((world as World).stateDir, 'ari.json');
    const text = readFileSync(cache, 'utf8').replace(
      /"nextAt": "[^"]+"/,
      `"nextAt": "${new Date(now - 1000).toISOString()}"`,
    );
    writeFileSync(cache, text, { mode: 0o600 });
    const run = await status(liveDir);
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(kinds(run.findings), ['early-renewal-requested']);
  });

  it('without renewalInfo in the directory the window is 2/3 to 3/4 of the lifetime, and says so', async () => {
    const { liveDir, now } = await setUp(90, 1);
    (ca as FakeCa).offersAri = false;
    const run = await status(liveDir);
    assert.equal(run.code, 0, run.stderr);
    const window = run.findings.find((f) => f.kind === 'ari-window');
    const start = new Date(now - DAY + 60 * DAY);
    assert.match(window?.message ?? '', /from the lifetime \(2\/3 to 3\/4; .*offers no renewalInfo/);
    assert.match(window?.message ?? '', new RegExp(start.toISOString().slice(0, 13)));
    assert.equal((ca as FakeCa).asked, 0);
  });

  for (const [label, answer, why] of [
    ['404', undefined, /does not know the certificate/],
    ['500 with Retry-After', { status: 500, retryAfter: '120' }, /answered HTTP 500/],
    ['a body without a window', { raw: '{"suggestedWindow": {"start": "x"}}' }, /no valid suggestedWindow/],
  ] as const) {
    it(`a renewalInfo answering ${label} leaves the lifetime window, and says why`, async () => {
      const { liveDir, id } = await setUp(90, 1);
      if (answer !== undefined) (ca as FakeCa).answers.set(id, answer);
      const run = await status(liveDir);
      assert.equal(run.code, 0, run.stderr);
      const window = run.findings.find((f) => f.kind === 'ari-window');
      assert.match(window?.message ?? '', why);
      assert.match(window?.message ?? '', /from the lifetime/);
      // Not asked again before its Retry-After (or the hour after a failure) is over.
      const asked = (ca as FakeCa).asked;
      assert.equal(asked, 1);
      const again = await status(liveDir);
      assert.equal((ca as FakeCa).asked, asked);
      assert.match(again.findings.find((f) => f.kind === 'ari-window')?.message ?? '', why);
      if (answer !== undefined && 'retryAfter' in answer) {
        const cache = JSON.parse(readFileSync(join((world as World).stateDir, 'ari.json'), 'utf8')) as {
          records: { nextAt: string }[];
        };
        const wait = Date.parse(cache.records[0]?.nextAt ?? '') - Date.now();
        assert.ok(wait > 60_000 && wait <= 120_000, `the CA's Retry-After of 120 s is kept: ${wait} ms`);
      }
    });
  }

  it('the lifetime window still finds a late client when the CA is unreachable (6-day)', async () => {
    const { liveDir } = await setUp(6, 5, { server: 'http://127.0.0.1:9/directory' });
    const run = await status(liveDir);
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(kinds(run.findings), ['acme-client-late']);
    // The problem line itself says the window is a guess.
    assert.match(
      run.stderr,
      /schedule: problem: example\.com: the renewal window ended \S+ \(3\/4 of the lifetime/,
    );
    assert.match(
      run.findings.find((f) => f.kind === 'ari-window')?.message ?? '',
      /from the lifetime .*no answer from 127\.0\.0\.1:9/,
    );
  });

  it('a plain-http CA that is not on loopback is never asked', async () => {
    const { liveDir } = await setUp(90, 1, { server: 'http://ca.example/directory' });
    const run = await status(liveDir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.findings.find((f) => f.kind === 'ari-window')?.message ?? '', /only https is used/);
  });

  it('`ari: false` asks nothing', async () => {
    const { liveDir } = await setUp(90, 1, { config: { ari: false } });
    const run = await status(liveDir);
    assert.equal(run.code, 0, run.stderr);
    assert.equal((ca as FakeCa).requests.length, 0);
    assert.match(run.findings.find((f) => f.kind === 'ari-window')?.message ?? '', /`ari` is false/);
  });

  /** The world's lineage renewed `issuedAgoMs` ago (a 90-day certificate), not yet sent anywhere. */
  async function renew(configDir: string, now: number, issuedAgoMs: number): Promise<Leaf> {
    const renewed = await issueLeaf(pki as Pki, {
      names: [NAME],
      notBefore: new Date(now - issuedAgoMs),
      notAfter: new Date(now - issuedAgoMs + 90 * DAY),
    });
    writeCertbotLineage(configDir, NAME, renewed, 2);
    return renewed;
  }

  /** Adds to the delivery record that `leaf` was sent to site 7654321 at `at` (another run, another site). */
  function recordSent(leaf: Leaf, at: Date): void {
    const file = join((world as World).stateDir, 'delivered.json');
    const record = JSON.parse(readFileSync(file, 'utf8')) as { deliveries: Record<string, unknown>[] };
    const sha1 = new X509Certificate(leaf.certPem).fingerprint.replaceAll(':', '').toLowerCase();
    record.deliveries = record.deliveries.filter((delivery) => delivery.siteId !== '7654321');
    record.deliveries.push({
      siteId: '7654321',
      keyType: 'ECC',
      fingerprint: leaf.fingerprint,
      sha1,
      notAfter: leaf.notAfter.toISOString(),
      chainLength: 2,
      names: ['www.example.com'],
      at: at.toISOString(),
      flags: [],
    });
    writeFileSync(file, JSON.stringify(record), { mode: 0o600 });
  }

  const behindLine = /site 1234567 \(ECC\) was last sent the older certificate/;

  it('edge-behind: the lineage was renewed, the site still has the older certificate past the grace', async () => {
    const { leaf, configDir, liveDir, now } = await setUp(90, 30);
    (ca as FakeCa).fallback = { window: { start: new Date(now + 50 * DAY), end: new Date(now + 52 * DAY) } };
    // Past the verify grace of a 90-day certificate (a hundredth of it: 21.6 h), sent nowhere.
    const renewed = await renew(configDir, now, DAY);
    assert.notEqual(renewed.fingerprint, leaf.fingerprint);
    const run = await status(liveDir);
    assert.equal(run.code, 1, run.stderr);
    assert.ok(kinds(run.findings).includes('edge-behind'), JSON.stringify(run.findings));
    assert.match(run.findings.find((f) => f.kind === 'edge-behind')?.message ?? '', behindLine);
  });

  it('edge-behind waits the verify grace, a share of the lifetime: not behind 2 h after a 90-day renewal', async () => {
    const { configDir, liveDir, now } = await setUp(90, 30);
    (ca as FakeCa).fallback = { window: { start: new Date(now + 50 * DAY), end: new Date(now + 52 * DAY) } };
    await renew(configDir, now, 2 * HOUR);
    const run = await status(liveDir);
    assert.ok(!kinds(run.findings).includes('edge-behind'), JSON.stringify(run.findings));
  });

  it("edge-behind counts the grace from this host's first upload of the renewed certificate", async () => {
    const { configDir, liveDir, now } = await setUp(90, 30);
    (ca as FakeCa).fallback = { window: { start: new Date(now + 50 * DAY), end: new Date(now + 52 * DAY) } };
    // Issued 3 days ago, but this host first sent it an hour ago: the run delivering it may still be on its way.
    const renewed = await renew(configDir, now, 3 * DAY);
    recordSent(renewed, new Date(now - HOUR));
    const within = await status(liveDir);
    assert.ok(!kinds(within.findings).includes('edge-behind'), JSON.stringify(within.findings));
    // Sent two days ago, and this site still has the older one.
    recordSent(renewed, new Date(now - 2 * DAY));
    const past = await status(liveDir);
    assert.equal(past.code, 1, past.stderr);
    assert.match(past.findings.find((f) => f.kind === 'edge-behind')?.message ?? '', behindLine);
  });

  it('check prints the schedule and carries the findings in --json', async () => {
    const { liveDir, id, now } = await setUp(6, 5);
    (ca as FakeCa).answers.set(id, {
      window: { start: new Date(now - 2 * DAY), end: new Date(now - 13 * HOUR) },
    });
    const run = await runCli(['check', '--live-dir', liveDir], (world as World).env);
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /schedule: problem: example\.com: the renewal window ended .*fix: certbot renew --cert-name example\.com/,
    );
  });

  it('sync: metrics per lineage, and onFailure once when the state turns into a problem', async () => {
    const hookDir = join(tempDir(), 'hook');
    mkdirSync(hookDir, { mode: 0o755 });
    const hook = join(hookDir, 'notify');
    const calls = join(hookDir, 'calls');
    writeFileSync(hook, `#!/bin/sh\ncat >> '${calls}'\necho '@@' >> '${calls}'\n`, { mode: 0o755 });
    chmodSync(hook, 0o755);
    const metrics = join(hookDir, 'metrics.prom');
    const { liveDir, id, now } = await setUp(6, 5, { config: { onFailure: [hook], metricsFile: metrics } });
    const end = new Date(now - 13 * HOUR);
    (ca as FakeCa).answers.set(id, { window: { start: new Date(now - 2 * DAY), end }, retryAfter: '60' });
    const env = (world as World).env;
    const first = await runCli(['sync', '--live-dir', liveDir], env);
    assert.match(first.stderr, /schedule: problem: example\.com: the renewal window ended/);
    const prom = readFileSync(metrics, 'utf8');
    assert.match(
      prom,
      new RegExp(
        `incap_cert_ari_window_end_timestamp_seconds\\{lineage="${NAME}"\\} ${Math.floor(end.getTime() / 1000)}`,
      ),
    );
    assert.match(prom, /incap_cert_lineage_state\{lineage="example\.com",state="acme-client-late"\} 1/);
    const summaries = () =>
      readFileSync(calls, 'utf8')
        .split('@@')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as { lineages: { lineage: string; state: string; fix: string }[] });
    assert.deepEqual(
      summaries().map((one) => one.lineages.map((l) => [l.lineage, l.state, l.fix])),
      [[[NAME, 'acme-client-late', `certbot renew --cert-name ${NAME}`]]],
    );
    // The same state on the next run: no second notice.
    await runCli(['sync', '--live-dir', liveDir], env);
    assert.equal(summaries().length, 1);
  });

  it('a corrupt ARI cache is set aside with a warning, and the CA is asked afresh', async () => {
    const { liveDir, id, now } = await setUp(90, 1);
    (ca as FakeCa).answers.set(id, {
      window: { start: new Date(now + 58 * DAY), end: new Date(now + 60 * DAY) },
    });
    const stateDir = (world as World).stateDir;
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(stateDir, 'ari.json'), '{"version": 1, "records": [', { mode: 0o600 });
    const run = await status(liveDir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /ARI cache .*ari\.json: corrupt .*kept aside as .*ari\.json\.rejected-/);
    assert.equal((ca as FakeCa).asked, 1);
    const kept = JSON.parse(readFileSync(join(stateDir, 'ari.json'), 'utf8')) as {
      records: { id: string }[];
    };
    assert.deepEqual(
      kept.records.map((record) => record.id),
      [id],
    );
  });

  it('a renewal configuration others can write is not followed to its server', async () => {
    const { liveDir, configDir } = await setUp(90, 1);
    chmodSync(join(configDir, 'renewal', `${NAME}.conf`), 0o666);
    const run = await status(liveDir);
    assert.equal((ca as FakeCa).requests.length, 0);
    assert.match(
      run.findings.find((f) => f.kind === 'ari-window')?.message ?? '',
      /from the lifetime .*refused/,
    );
  });

  it('asks the CA through the proxy HTTP_PROXY names, as the API is reached', async () => {
    const { liveDir, id, now } = await setUp(90, 1);
    (ca as FakeCa).answers.set(id, {
      window: { start: new Date(now + 58 * DAY), end: new Date(now + 60 * DAY) },
    });
    const proxy = await RecordingProxy.start();
    try {
      const run = await runCli(['status', '--json', '--live-dir', liveDir], {
        ...(world as World).env,
        HTTP_PROXY: `http://127.0.0.1:${proxy.port}`,
      });
      assert.equal(run.code, 0, run.stderr);
      // Each request to the CA (the directory, then renewalInfo) went through the proxy.
      const host = new URL((ca as FakeCa).url).host;
      const toCa = proxy.passed.filter(
        (one) => one.target === host || one.target.startsWith(`http://${host}/`),
      );
      assert.equal(toCa.length, 2, JSON.stringify(proxy.passed));
      assert.equal((ca as FakeCa).asked, 1);
    } finally {
      await proxy.close();
    }
  });
});
