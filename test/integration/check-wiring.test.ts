import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { CLI, runCli, tempDir, type CliResult } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { script, wireHost } from '../support/wired-host.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com', 'www.example.com'] });
});

let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

/**
 * A Certbot host wired as install leaves it (test/support/wired-host.ts), with a notifier, and with the drop-in
 * reaching this very build: its real `--version` is what is judged. Imperva holds what this host has, so every
 * site is current and only the wiring is left to judge.
 */
async function wiredHost() {
  const dir = tempDir();
  const certbot = join(dir, 'le');
  const notifier = script(join(dir, 'notify'), 'cat > /dev/null');
  world = await createWorld({ config: { liveDir: join(certbot, 'live'), onFailure: [notifier] } });
  writeCertbotLineage(certbot, 'example.com', leaf);
  const host = wireHost(join(certbot, 'live'), world.env);
  script(host.program, `exec ${process.execPath} ${CLI} "$@"`);
  const pushed = await runCli(['push', '--lineage', join(certbot, 'live', 'example.com')], host.env);
  assert.equal(pushed.code, 0, pushed.stderr);
  return { ...host, conf: host.renewalConf('example.com'), notifier, world };
}

/** The one problem check finds (exit 1): the finding under test is the only reason. */
function onlyProblem(result: CliResult): string {
  assert.equal(result.code, 1, result.stderr);
  const problems = result.stderr.split('\n').filter((line) => line.includes('problem: '));
  assert.equal(problems.length, 1, result.stderr);
  return problems[0] ?? '';
}

describe('check: is this host wired up?', () => {
  it('says so, one verdict a line, and exits 0', async () => {
    const host = await wiredHost();
    const result = await runCli(['check'], host.env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`^ok: ${host.dropin} runs ${host.program} \\(incap-cert \\d`, 'm'),
    );
    assert.match(result.stdout, /^ok: incap-cert-sync\.timer is enabled and active: systemd runs sync$/m);
    assert.match(result.stdout, /^ok: Certbot renews example\.com with webroot, ECDSA key$/m);
    assert.match(
      result.stdout,
      new RegExp(`^ok: the onFailure program ${host.notifier} is there and executable$`, 'm'),
    );
  });

  it('--json carries every finding in one shape', async () => {
    const host = await wiredHost();
    const result = await runCli(['check', '--json'], host.env);
    assert.equal(result.code, 0, result.stderr);
    const findings = (JSON.parse(result.stdout) as { findings: Record<string, unknown>[] }).findings;
    assert.deepEqual(
      findings.map((finding) => [finding.kind, finding.ok]),
      [
        ['config', true],
        ['credentials', true],
        ['plan', true],
        ['site', true],
        ['site', true],
        ['ari-window', true],
        ['certbot', true],
        ['deploy-hook', true],
        ['renewal-conf', true],
        ['scheduler', true],
        ['on-failure', true],
        ['state-folder', true],
      ],
    );
    for (const finding of findings)
      assert.deepEqual(Object.keys(finding), ['kind', 'subject', 'ok', 'message', 'fix']);
    // The text says the same verdicts, one a line (the CA's schedule prefixes its own with `schedule: `).
    const text = await runCli(['check'], host.env);
    assert.deepEqual(
      text.stdout.split('\n').filter((line) => /^(schedule: )?(ok|problem): /.test(line)),
      findings.map(
        (finding) => `${finding.kind === 'ari-window' ? 'schedule: ' : ''}ok: ${String(finding.message)}`,
      ),
    );
  });

  it('a missing drop-in: Certbot renews without uploading (exit 1, with the fix)', async () => {
    const host = await wiredHost();
    rmSync(host.dropin);
    const result = await runCli(['check'], host.env);
    assert.match(
      onlyProblem(result),
      new RegExp(
        `problem: ${host.dropin} is missing: Certbot renews without uploading; fix: incap-cert install`,
      ),
    );
  });

  it('the drop-in and a renew_hook at once: every renewal uploads twice', async () => {
    const host = await wiredHost();
    writeFileSync(
      host.conf,
      `[renewalparams]\nauthenticator = webroot\nrenew_hook = ${host.program} deploy\n`,
    );
    const result = await runCli(['check'], host.env);
    assert.match(
      onlyProblem(result),
      /every renewal of example\.com uploads twice; fix: sed -i '\/\^renew_hook \*=\/d' /,
    );
  });

  it('no scheduler: nothing runs sync on this machine', async () => {
    const host = await wiredHost();
    host.systemctl('disabled', 'inactive');
    const result = await runCli(['check'], host.env);
    assert.match(
      onlyProblem(result),
      /problem: nothing runs sync on this machine: .*; fix: incap-cert install --cron/,
    );
  });

  it('a notifier that cannot run is named', async () => {
    const host = await wiredHost();
    rmSync(host.notifier);
    const result = await runCli(['check'], host.env);
    assert.match(
      onlyProblem(result),
      new RegExp(`problem: the onFailure program ${host.notifier} does not exist`),
    );
  });

  it('a renewal configuration that allows only TLS-ALPN cannot pass behind Imperva', async () => {
    const host = await wiredHost();
    writeFileSync(host.conf, '[renewalparams]\nauthenticator = webroot\npref_challs = tls-alpn-01,\n');
    const result = await runCli(['check'], host.env);
    assert.match(
      onlyProblem(result),
      /allows only tls-alpn-01 \(pref_challs\).*; fix: certbot reconfigure --cert-name example\.com --preferred-challenges http-01/,
    );
  });
});
