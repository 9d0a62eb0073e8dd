/**
 * End to end: `check` on a real Certbot set-up. Debian's certbot issues a lineage from pebble with --webroot, the
 * deploy drop-in is in Certbot's folder as `incap-cert install --prefix` writes it (hooks/certbot-deploy.sh with the
 * prefix written in), and incap-cert's sync has uploaded it to the fake Imperva API. check's verdict on the Certbot
 * part then passes (the folder, the drop-in reaching this version, the saved renewal configuration), and what is
 * still missing on this machine (nothing runs sync: no systemd timer, no cron file) is named with its fix.
 * Run by scripts/e2e.sh (npm run test:e2e).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeImperva } from '../support/fake-imperva.js';
import { CLI, ROOT, newApiKey, runCommand, tempDir, writeConfig } from '../support/harness.js';
import { startPebble, type Pebble } from '../support/pebble.js';
import { assertNoSecrets, secretsOf } from '../support/world.js';

interface Finding {
  kind: string;
  subject: string;
  ok: boolean;
  message: string;
  fix: string | null;
}

let work: string;
let pebble: Pebble;
let fake: FakeImperva;
let apiKey: string;
let env: Record<string, string>;
let certbotDir: string;
let prefix: string;

before(async () => {
  work = tempDir('incap-cert-e2e-check-');
  pebble = await startPebble(work);
  apiKey = newApiKey();
  fake = await FakeImperva.start({ apiId: '4242', apiKey, sites: { '101': 'c.example.com' } });
  certbotDir = join(work, 'letsencrypt');
  // incap-cert installed under a prefix of its own: PREFIX/bin/incap-cert runs this build.
  prefix = join(work, 'prefix');
  mkdirSync(join(prefix, 'bin'), { recursive: true });
  writeFileSync(join(prefix, 'bin', 'incap-cert'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(prefix, 'bin', 'incap-cert'), 0o755);
  const config = writeConfig(work, {
    api: { id: '4242', key: apiKey, baseUrl: fake.url, v3BaseUrl: fake.url },
    sites: { 'c.example.com': 101 },
    liveDir: join(certbotDir, 'live'),
    stateDir: join(work, 'state'),
    retryDelaySeconds: 0.01,
  });
  env = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    REQUESTS_CA_BUNDLE: pebble.caFile,
    INCAP_CERT_CONFIG: config,
  };
});

after(async () => {
  await fake?.close();
  await pebble?.stop();
});

/** The drop-in as install writes it: the shipped script with the install's prefix written into it. */
function installDropIn(): string {
  const hooks = join(certbotDir, 'renewal-hooks', 'deploy');
  mkdirSync(hooks, { recursive: true });
  const script = readFileSync(join(ROOT, 'hooks', 'certbot-deploy.sh'), 'utf8').replace(
    /^incap_cert_prefix='[^']*'$/m,
    `incap_cert_prefix='${prefix}'`,
  );
  assert.ok(script.includes(`incap_cert_prefix='${prefix}'`), 'the drop-in names its prefix');
  const file = join(hooks, 'incap-cert');
  writeFileSync(file, script, { mode: 0o755 });
  chmodSync(file, 0o755);
  return file;
}

describe('check against a real Certbot set-up', () => {
  it('the Certbot part passes; what nothing runs yet is named with its fix', async () => {
    const webroot = join(work, 'www');
    mkdirSync(webroot, { recursive: true });
    const issued = await runCommand(
      'certbot',
      [
        'certonly',
        '--webroot',
        '-w',
        webroot,
        '-d',
        'c.example.com',
        '--non-interactive',
        '--agree-tos',
        '--register-unsafely-without-email',
        '--server',
        pebble.directory,
        '--config-dir',
        certbotDir,
        '--work-dir',
        join(work, 'certbot-work'),
        '--logs-dir',
        join(work, 'certbot-logs'),
      ],
      env,
    );
    assert.equal(issued.code, 0, issued.stderr);
    const dropin = installDropIn();
    const synced = await runCommand(process.execPath, [CLI, 'sync'], env);
    assert.equal(synced.code, 0, synced.stderr);

    const result = await runCommand(process.execPath, [CLI, 'check', '--json'], env);
    assert.equal(result.code, 1, result.stderr);
    const findings = (JSON.parse(result.stdout) as { findings: Finding[] }).findings;
    const of = (kind: string) => findings.filter((finding) => finding.kind === kind);
    assert.deepEqual(
      of('certbot').map((finding) => [finding.ok, finding.subject]),
      [[true, certbotDir]],
    );
    const hook = of('deploy-hook');
    assert.equal(hook.length, 1, JSON.stringify(findings, null, 1));
    assert.equal(hook[0]?.ok, true, hook[0]?.message);
    assert.match(
      hook[0]?.message ?? '',
      new RegExp(`^${dropin} runs ${join(prefix, 'bin', 'incap-cert')} \\(incap-cert \\d+\\.\\d+\\.\\d+`),
    );
    // Certbot's own renewal configuration: webroot passes behind Imperva.
    const conf = of('renewal-conf');
    assert.deepEqual(
      conf.map((finding) => [finding.ok, finding.subject]),
      [[true, join(certbotDir, 'renewal', 'c.example.com.conf')]],
    );
    assert.match(conf[0]?.message ?? '', /^Certbot renews c\.example\.com with webroot/);
    assert.deepEqual(
      of('site').map((finding) => [finding.ok, finding.subject]),
      [[true, '101']],
    );
    // No systemd timer and no cron file on this machine: the one problem left, with the command that fixes it.
    const problems = findings.filter((finding) => !finding.ok);
    assert.deepEqual(
      problems.map((finding) => finding.kind),
      ['scheduler'],
      JSON.stringify(problems, null, 1),
    );
    assert.match(problems[0]?.message ?? '', /nothing runs sync on this machine/);
    assert.match(problems[0]?.fix ?? '', /^incap-cert install --(systemd|cron)$/);
    assertNoSecrets({ stdout: result.stdout, stderr: result.stderr }, secretsOf(apiKey));
  });
});
