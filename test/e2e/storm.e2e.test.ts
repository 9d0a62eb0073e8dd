/**
 * Issue 22, "a storm is paced", end to end: Debian's certbot renews 20 lineages of 20 sites each in one run
 * (`renew --force-renewal`, as after an ARI incident) against pebble, running the built incap-cert as its deploy
 * hook, against a fake Imperva that lets 3 requests a second through. The 400 uploads cannot fit in the hooks
 * (hookDeadlineSeconds 5): each hook starts at the pace the one before learned (stateDir/pace.json), defers what
 * does not fit, and the first timer run after (sync) delivers the rest.
 *
 * Each hook's duration comes from log lines, never from timing this test: incap-cert's own log file (with -v its
 * first line is written as the run's deadline starts; lines carry the run's id) bounds the run by its deadline; a
 * wrapper on PATH writes when each hook process started and ended, which also counts Node's own start-up.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeImperva } from '../support/fake-imperva.js';
import {
  CLI,
  newApiKey,
  runCli,
  runCommand,
  tempDir,
  writeConfig,
  type CliResult,
} from '../support/harness.js';
import { startPebble, type Pebble } from '../support/pebble.js';
import { API_ID } from '../support/world.js';

const LINEAGES = 20;
const SITES_EACH = 20;
const HOOK_DEADLINE_SECONDS = 5;
const RATE = { perSecond: 3, burst: 3 };

const names = Array.from(
  { length: LINEAGES },
  (_, index) => `s${String(index).padStart(2, '0')}.example.com`,
);
const sitesOf = (lineage: number) =>
  Array.from({ length: SITES_EACH }, (_, index) => String(5000 + lineage * SITES_EACH + index));

let work: string;
let pebble: Pebble;
let fake: FakeImperva;
let env: Record<string, string>;
let hookLog: string;
let failureMark: string;
let stateDir: string;

function certbot(args: string[]): Promise<CliResult> {
  const dir = join(work, 'certbot');
  return runCommand(
    'certbot',
    [
      ...args,
      '--non-interactive',
      '--agree-tos',
      '--register-unsafely-without-email',
      '--server',
      pebble.directory,
      '--config-dir',
      join(dir, 'config'),
      '--work-dir',
      join(dir, 'work'),
      '--logs-dir',
      join(dir, 'logs'),
      '--http-01-address',
      '127.0.0.1',
      '--http-01-port',
      String(pebble.httpPort),
      '--no-random-sleep-on-renew',
    ],
    env,
  );
}

before(async () => {
  work = tempDir('incap-cert-storm-');
  pebble = await startPebble(work);
  const apiKey = newApiKey();
  const sites: Record<string, string> = {};
  const map: Record<string, number[]> = {};
  names.forEach((name, lineage) => {
    for (const id of sitesOf(lineage)) sites[id] = name;
    map[name] = sitesOf(lineage).map(Number);
  });
  fake = await FakeImperva.start({ apiId: API_ID, apiKey, sites });
  stateDir = join(work, 'state');
  failureMark = join(work, 'on-failure-ran');
  const onFailure = join(work, 'on-failure.sh');
  writeFileSync(onFailure, `#!/bin/sh\ntouch '${failureMark}'\n`);
  chmodSync(onFailure, 0o755);
  const config = writeConfig(work, {
    api: { id: API_ID, key: apiKey, baseUrl: fake.url, v3BaseUrl: fake.url },
    sites: map,
    stateDir,
    liveDir: join(work, 'certbot', 'config', 'live'),
    hookDeadlineSeconds: HOOK_DEADLINE_SECONDS,
    deadlineSeconds: 600,
    retryDelaySeconds: 0.01,
    logFile: join(work, 'incap-cert.log'),
    onFailure: [onFailure],
    ari: false,
    canary: false,
  });
  // incap-cert on PATH for Certbot's hook, writing when each run started and ended (ms since the epoch).
  hookLog = join(work, 'hooks.log');
  const bin = join(work, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'incap-cert'),
    `#!/bin/sh\necho "start $(date +%s%3N)" >> '${hookLog}'\n"${process.execPath}" "${CLI}" "$@"\n` +
      `code=$?\necho "end $(date +%s%3N) $code" >> '${hookLog}'\nexit $code\n`,
  );
  chmodSync(join(bin, 'incap-cert'), 0o755);
  env = {
    PATH: `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    REQUESTS_CA_BUNDLE: pebble.caFile,
    INCAP_CERT_CONFIG: config,
  };
  // The lineages, once, without the hook: the storm is their renewal.
  for (const name of names) {
    const issued = await certbot(['certonly', '--standalone', '--key-type', 'ecdsa', '-d', name]);
    assert.equal(issued.code, 0, issued.stderr);
  }
});

after(async () => {
  await fake?.close();
  await pebble?.stop();
});

function leafOf(name: string): string {
  const pem = readFileSync(join(work, 'certbot', 'config', 'live', name, 'cert.pem'));
  return new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase();
}

/** Node's start-up before incap-cert's clock starts, on a loaded CI machine: only the process's lifetime has it. */
const NODE_START_ALLOWANCE_MS = 2500;

/** Each deploy run's duration (ms) by incap-cert's own clock: its first and last log-file line. */
function loggedRuns(): number[] {
  const runs = new Map<string, { first: number; last: number }>();
  for (const line of readFileSync(join(work, 'incap-cert.log'), 'utf8').split('\n')) {
    if (line === '') continue;
    const { command, runId, timestamp } = JSON.parse(line) as Record<string, string>;
    if (command !== 'deploy' || runId === undefined || timestamp === undefined) continue;
    const at = Date.parse(timestamp);
    const run = runs.get(runId);
    if (run === undefined) runs.set(runId, { first: at, last: at });
    else run.last = at;
  }
  return [...runs.values()].map((run) => run.last - run.first);
}

/** Each hook process's lifetime (ms) and exit code, from the wrapper's lines. */
function hookRuns(): { ms: number; code: number }[] {
  const runs: { ms: number; code: number }[] = [];
  let started: number | undefined;
  for (const line of readFileSync(hookLog, 'utf8').split('\n')) {
    const [what, at, code] = line.split(' ');
    if (what === 'start') started = Number(at);
    if (what === 'end' && started !== undefined) {
      runs.push({ ms: Number(at) - started, code: Number(code) });
      started = undefined;
    }
  }
  return runs;
}

describe('a renewal storm', () => {
  it('certbot renew --force-renewal over 20 lineages × 20 sites: paced hooks, the rest delivered by the next sync', async (t) => {
    fake.setRateLimit(RATE);
    const requestsBefore = fake.requests.length;
    const renewed = await certbot(['renew', '--force-renewal', '--deploy-hook', 'incap-cert deploy -v']);
    assert.equal(renewed.code, 0, renewed.stderr);
    assert.doesNotMatch(`${renewed.stdout}\n${renewed.stderr}`, /reported error code/);

    const runs = hookRuns();
    assert.equal(runs.length, LINEAGES, readFileSync(hookLog, 'utf8'));
    for (const run of runs) {
      assert.equal(run.code, 0);
      assert.ok(
        run.ms <= HOOK_DEADLINE_SECONDS * 1000 + NODE_START_ALLOWANCE_MS,
        `a hook process lived ${run.ms} ms`,
      );
    }
    const logged = loggedRuns();
    assert.equal(logged.length, LINEAGES);
    for (const ms of logged)
      assert.ok(ms <= HOOK_DEADLINE_SECONDS * 1000, `a hook ran ${ms} ms, past its deadline`);
    // At least a quarter of the 400 uploads did not fit in the hooks: they wait in the queue for the timer's run.
    const queue = JSON.parse(readFileSync(join(stateDir, 'queue.json'), 'utf8')) as {
      entries: { state: string }[];
    };
    const deferred = queue.entries.filter((entry) => entry.state === 'deferred').length;
    assert.ok(deferred >= (LINEAGES * SITES_EACH) / 4, `only ${deferred} uploads deferred`);
    assert.equal(queue.entries.length, deferred, 'a hook failed a site');
    assert.equal(existsSync(failureMark), false, 'onFailure ran');

    const sync = await runCli(['sync'], env);
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stdout, /^sync: \d+ current, \d+ uploaded, 0 failed$/m);
    names.forEach((name, lineage) => {
      const fingerprint = leafOf(name);
      for (const id of sitesOf(lineage))
        assert.equal(fake.serving(id, 'ECC')?.fingerprint, fingerprint, `site ${id} (${name})`);
    });
    assert.equal(existsSync(failureMark), false, 'onFailure ran');

    const requests = fake.requests.length - requestsBefore;
    t.diagnostic(
      `${deferred} of ${LINEAGES * SITES_EACH} uploads deferred by the hooks; the longest hook ran ` +
        `${Math.max(...logged)} ms (its process lived ${Math.max(...runs.map((run) => run.ms))} ms); ` +
        `${fake.throttled} of ${requests} requests answered 429`,
    );
    assert.ok(fake.throttled <= requests * 0.05, `${fake.throttled} of ${requests} requests answered 429`);
  });
});
