/**
 * incap-cert canary, through the built CLI: a Certbot lineage with a webroot renewal configuration, the fake edge's
 * http side (INCAP_CERT_EDGE_HTTP) passing requests through to the web root, answering Imperva's block page,
 * redirecting or dropping the connection; each verdict, its exit code, and no token file left behind.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { FakeHttpEdge, INCIDENT_ID, type HttpEdgeMode } from '../support/fake-edge.js';
import { spawn } from 'node:child_process';
import { CLI, runCli, tempDir } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com', 'www.example.com'], keyType: 'ec' });
});

let world: World | undefined;
let edge: FakeHttpEdge | undefined;
afterEach(async () => {
  await edge?.close();
  await world?.close();
  edge = undefined;
  world = undefined;
});
after(() => world?.close());

async function setup(
  modes: Record<string, HttpEdgeMode>,
  renewal?: string,
  config: Record<string, unknown> = {},
) {
  world = await createWorld({ config });
  const le = join(world.dir, 'le');
  const webroot = join(world.dir, 'www');
  mkdirSync(webroot, { mode: 0o755 });
  writeCertbotLineage(le, 'example.com', leaf);
  mkdirSync(join(le, 'renewal'), { recursive: true, mode: 0o755 });
  writeFileSync(
    join(le, 'renewal', 'example.com.conf'),
    renewal ??
      `version = 5.1.0\n[renewalparams]\nauthenticator = webroot\nwebroot_path = ${webroot},\n[[webroot_map]]\n`,
    { mode: 0o644 },
  );
  edge = await FakeHttpEdge.start({ webroot: () => webroot, modes });
  const env = { ...world.env, INCAP_CERT_EDGE_HTTP: edge.address };
  return { live: join(le, 'live'), webroot, env };
}

function leftovers(webroot: string): string[] {
  return existsSync(join(webroot, '.well-known'))
    ? readdirSync(join(webroot, '.well-known'), { recursive: true }).map(String)
    : [];
}

describe('incap-cert canary', () => {
  it('pass: the token comes back through the edge, exit 0, "from this host", nothing left', async () => {
    const { live, webroot, env } = await setup({});
    const result = await runCli(['canary', '--live-dir', live], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /renewal path of example\.com \(lineage example\.com\): pass/);
    assert.match(result.stdout, /renewal path of www\.example\.com .*: pass/);
    assert.match(result.stdout, /from this host/);
    assert.deepEqual(leftovers(webroot), []);
    assert.equal(existsSync(join(webroot, '.well-known')), false, 'the folders it created are gone');
    assert.deepEqual(edge?.requests.map((request) => request.host).sort(), [
      'example.com',
      'www.example.com',
    ]);
    for (const request of edge?.requests ?? []) {
      assert.match(request.path, /^\/\.well-known\/acme-challenge\/[A-Za-z0-9_-]{43}$/);
      assert.match(request.userAgent, /ACME validation/);
    }
  });

  it('blocked: quotes the incident ID and the advice, exit 1; --json carries the findings', async () => {
    const { live, webroot, env } = await setup({ 'www.example.com': 'block' });
    const result = await runCli(['canary', '--live-dir', live, '--json'], env);
    assert.equal(result.code, 1, result.stderr);
    const document = JSON.parse(result.stdout) as {
      findings: { kind: string; subject: string; ok: boolean; message: string; fix: string | null }[];
    };
    const www = document.findings.find((finding) => finding.subject === 'example.com www.example.com');
    assert.equal(www?.ok, false);
    assert.equal(www?.kind, 'renewal-path');
    assert.match(www?.message ?? '', new RegExp(`blocked: .*incident ID ${INCIDENT_ID}`));
    assert.match(www?.fix ?? '', /exempt \/\.well-known\/acme-challenge\//);
    assert.equal(
      document.findings.find((finding) => finding.subject === 'example.com example.com')?.ok,
      true,
    );
    assert.deepEqual(leftovers(webroot), []);
  });

  it('redirected: follows one an ACME server follows, refuses another without requesting it', async () => {
    const { live, env } = await setup({
      'example.com': { redirect: 'http://www.example.com$PATH' },
      'www.example.com': { redirect: 'https://www.example.com:8443$PATH' },
    });
    const result = await runCli(['canary', '--live-dir', live], env);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /www\.example\.com:8443.*redirected|redirected: .*www\.example\.com:8443/);
    assert.equal(
      edge?.requests.filter((request) => request.host === 'www.example.com').length,
      2,
      "www.example.com asked once by itself and once as example.com's redirect; never on 8443",
    );
  });

  it('unreachable: a dropped connection, exit 1', async () => {
    const { live, webroot, env } = await setup({ 'example.com': 'drop' });
    const result = await runCli(['canary', '--live-dir', live], env);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /example\.com \(lineage example\.com\): unreachable/);
    assert.deepEqual(leftovers(webroot), []);
  });

  it('a run stopped half way (SIGTERM) leaves no token file and no folder it made', async () => {
    const { live, webroot, env } = await setup({ 'example.com': 'hang' });
    const requested = edge?.nextRequest();
    const child = spawn(process.execPath, [CLI, 'canary', '--live-dir', live], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Stop it once the edge holds its request, i.e. while the token file is in the web root.
    await requested;
    assert.notDeepEqual(leftovers(webroot), [], 'the token is there while the edge is asked');
    child.kill('SIGTERM');
    assert.equal(await exited, 143);
    assert.deepEqual(leftovers(webroot), []);
    assert.equal(existsSync(join(webroot, '.well-known')), false);
  });

  it("the run's deadline (deadlineSeconds) ends the name being asked, reports the rest unreached, leaves no token", async () => {
    const { live, webroot, env } = await setup({ 'example.com': 'hang', 'www.example.com': 'hang' });
    const config = JSON.parse(readFileSync(world?.configFile ?? '', 'utf8')) as Record<string, unknown>;
    writeFileSync(world?.configFile ?? '', JSON.stringify({ ...config, deadlineSeconds: 1 }), {
      mode: 0o600,
    });
    const started = Date.now();
    const result = await runCli(['canary', '--live-dir', live, '--json'], env);
    assert.ok(Date.now() - started < 10_000, 'over by the deadline, not the 30 s a name may take');
    assert.equal(result.code, 1, result.stderr);
    const document = JSON.parse(result.stdout) as {
      findings: { subject: string; ok: boolean; message: string }[];
    };
    assert.deepEqual(
      document.findings.map((finding) => [finding.subject, finding.ok]),
      [
        ['example.com example.com', false],
        ['example.com www.example.com', false],
      ],
    );
    assert.match(
      document.findings[0]?.message ?? '',
      /unchecked: the run's deadline \(deadlineSeconds\) came while it was asked/,
    );
    assert.match(document.findings[1]?.message ?? '', /unchecked: not reached before the run's deadline/);
    assert.equal(edge?.requests.length, 1, 'the name after the deadline is not asked');
    assert.deepEqual(leftovers(webroot), []);
    assert.equal(existsSync(join(webroot, '.well-known')), false);
  });

  it('sync runs the check when the last one is more than 20 hours old, and keeps the verdicts', async () => {
    const { live, env } = await setup({ 'www.example.com': 'block' });
    const state = world?.stateDir ?? '';
    mkdirSync(state, { recursive: true, mode: 0o700 });
    const kept = join(state, 'renewal-paths.json');
    const recent = new Date(Date.now() - 60 * 60 * 1000).toISOString();
    writeFileSync(kept, JSON.stringify({ version: 1, checkedAt: recent, paths: [] }), { mode: 0o600 });
    const quiet = await runCli(['sync', '--live-dir', live], env);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.deepEqual(edge?.requests, [], 'checked an hour ago: not again');
    const old = new Date(Date.now() - 21 * 60 * 60 * 1000).toISOString();
    writeFileSync(kept, JSON.stringify({ version: 1, checkedAt: old, paths: [] }), { mode: 0o600 });
    const due = await runCli(['sync', '--live-dir', live], env);
    assert.equal(due.code, 0, due.stderr);
    assert.match(due.stderr, /canary: problem: renewal path of www\.example\.com .*blocked/);
    const record = JSON.parse(readFileSync(kept, 'utf8')) as {
      checkedAt: string;
      paths: { name: string; verdict: string }[];
    };
    assert.ok(Date.parse(record.checkedAt) > Date.parse(old));
    assert.deepEqual(record.paths.map((path) => `${path.name} ${path.verdict}`).sort(), [
      'example.com pass',
      'www.example.com blocked',
    ]);
  });

  it('not-needed: a DNS-01 lineage is not checked and does not fail the run', async () => {
    const { live, env } = await setup(
      {},
      'version = 5.1.0\n[renewalparams]\nauthenticator = dns-cloudflare\n',
    );
    const result = await runCli(['canary', '--live-dir', live], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /not-needed: Certbot renews with DNS-01/);
    assert.deepEqual(edge?.requests, []);
  });

  it('metrics: renewal_path_ok per checked name (none for not-needed), the last check per lineage; from sync too', async () => {
    const metrics = join(tempDir(), 'incap-cert.prom');
    const { live, env } = await setup({ 'www.example.com': 'block' }, undefined, { metricsFile: metrics });
    const before = Math.floor(Date.now() / 1000);
    const result = await runCli(['canary', '--live-dir', live], env);
    assert.equal(result.code, 1, result.stderr);
    const samples = (text: string) =>
      text
        .split('\n')
        .filter((line) => line.startsWith('incap_cert_renewal_path_'))
        .map((line) => line.replace(/ \d+$/, (value) => (Number(value) >= before ? ' NOW' : value)))
        .sort();
    assert.deepEqual(samples(readFileSync(metrics, 'utf8')), [
      'incap_cert_renewal_path_last_check_timestamp_seconds{lineage="example.com"} NOW',
      'incap_cert_renewal_path_ok{lineage="example.com",name="example.com"} 1',
      'incap_cert_renewal_path_ok{lineage="example.com",name="www.example.com"} 0',
    ]);
    assert.match(readFileSync(metrics, 'utf8'), /# TYPE incap_cert_renewal_path_ok gauge/);
    const flagged = join(tempDir(), 'flag.prom');
    await runCli(['canary', '--live-dir', live, '--metrics-file', flagged], env);
    assert.match(readFileSync(flagged, 'utf8'), /incap_cert_last_run_success\{command="canary"\} 0/);
    assert.match(
      readFileSync(flagged, 'utf8'),
      /incap_cert_renewal_path_ok\{lineage="example\.com",name="www\.example\.com"\} 0/,
    );

    // Renewed with DNS-01 now: no name is checked, so no name has a sample; the check itself is dated. sync runs
    // it when the last check is old enough.
    writeFileSync(
      join(world?.dir ?? '', 'le', 'renewal', 'example.com.conf'),
      'version = 5.1.0\n[renewalparams]\nauthenticator = dns-cloudflare\n',
    );
    const kept = join(world?.stateDir ?? '', 'renewal-paths.json');
    const record = JSON.parse(readFileSync(kept, 'utf8')) as { checkedAt: string };
    record.checkedAt = new Date(Date.now() - 21 * 60 * 60 * 1000).toISOString();
    writeFileSync(kept, JSON.stringify(record), { mode: 0o600 });
    const sync = await runCli(['sync', '--live-dir', live], env);
    assert.equal(sync.code, 0, sync.stderr);
    assert.deepEqual(samples(readFileSync(metrics, 'utf8')), [
      'incap_cert_renewal_path_last_check_timestamp_seconds{lineage="example.com"} NOW',
    ]);
  });

  it('onFailure runs once when a path fails, not again while it fails, once when it passes again', async () => {
    const hookDir = join(tempDir(), 'hook');
    mkdirSync(hookDir, { mode: 0o755 });
    const hook = join(hookDir, 'notify');
    const calls = join(hookDir, 'calls');
    writeFileSync(hook, `#!/bin/sh\ncat >> '${calls}'\necho '@@' >> '${calls}'\n`, { mode: 0o755 });
    chmodSync(hook, 0o755);
    const modes: Record<string, HttpEdgeMode> = {};
    const { live, env } = await setup(modes, undefined, { onFailure: [hook] });
    const summaries = () =>
      (existsSync(calls) ? readFileSync(calls, 'utf8') : '')
        .split('@@')
        .filter((text) => text.trim() !== '')
        .map(
          (text) =>
            JSON.parse(text) as {
              sites: unknown[];
              findings: {
                kind: string;
                lineage: string;
                name: string;
                verdict: string;
                since: string;
                advice: string | null;
              }[];
            },
        );
    const canary = () => runCli(['canary', '--live-dir', live], env);

    assert.equal((await canary()).code, 0);
    assert.deepEqual(summaries(), [], 'a first check that passes tells nobody');

    modes['www.example.com'] = 'block';
    assert.equal((await canary()).code, 1);
    assert.equal(summaries().length, 1);
    const [failed] = summaries()[0]?.findings ?? [];
    assert.deepEqual(summaries()[0]?.sites, []);
    assert.deepEqual(
      [failed?.kind, failed?.lineage, failed?.name, failed?.verdict],
      ['renewal-path', 'example.com', 'www.example.com', 'blocked'],
    );
    assert.ok(!Number.isNaN(Date.parse(failed?.since ?? '')));
    assert.match(failed?.advice ?? '', /exempt \/\.well-known\/acme-challenge\//);

    assert.equal((await canary()).code, 1);
    assert.equal(summaries().length, 1, 'still failing: not again');

    delete modes['www.example.com'];
    assert.equal((await canary()).code, 0);
    assert.equal(summaries().length, 2);
    assert.deepEqual(
      summaries()[1]?.findings.map((finding) => [finding.name, finding.verdict, finding.advice]),
      [['www.example.com', 'pass', null]],
    );
  });
});
