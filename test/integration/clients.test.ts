/**
 * The other ACME clients' hand-offs through the built CLI (the real clients run in the end-to-end suite,
 * npm run test:e2e): lego 4 and 5 environment variables, acme.sh's, and the hook scripts in hooks/.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { CLI, ROOT, runCli, runCommand } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let ec: Leaf;
let rsa: Leaf;
before(async () => {
  const pki = await createPki();
  ec = await issueLeaf(pki, { names: ['example.com', 'www.example.com'] });
  rsa = await issueLeaf(pki, { names: ['example.com'], keyType: 'rsa' });
});

let world: World;
afterEach(() => world?.close());
after(() => world?.close());

function files(dir: string, entries: Record<string, string>): Record<string, string> {
  mkdirSync(dir, { recursive: true });
  const paths: Record<string, string> = {};
  for (const [name, content] of Object.entries(entries)) {
    paths[name] = join(dir, name);
    writeFileSync(paths[name], content, { mode: 0o600 });
  }
  return paths;
}

/** A bin folder with `incap-cert` on it, as an installed one would be. */
function binDir(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'incap-cert'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(bin, 'incap-cert'), 0o755);
  return bin;
}

describe('deploy reads every client hand-off', () => {
  it('lego 4: the bundle in LEGO_CERT_PATH, and --verbose says which client', async () => {
    world = await createWorld();
    const p = files(join(world.dir, 'lego', 'certificates'), {
      'example.com.crt': ec.fullchainPem,
      'example.com.key': ec.keyPem,
    });
    const result = await runCli(['deploy', '--verbose'], {
      ...world.env,
      LEGO_CERT_DOMAIN: 'example.com',
      LEGO_CERT_PATH: p['example.com.crt'],
      LEGO_CERT_KEY_PATH: p['example.com.key'],
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^debug: certificate from lego 4 \(LEGO_CERT_PATH\): /m);
    assert.deepEqual(
      world.fake
        .acceptedUploads()
        .map((u) => [
          u.siteId,
          u.form.input_hash,
          Buffer.from(u.form.certificate ?? '', 'base64').toString(),
        ]),
      [
        ['1234567', ec.fingerprint, ec.fullchainPem],
        ['7654321', ec.fingerprint, ec.fullchainPem],
      ],
    );
  });

  it('lego 4 with --no-bundle: the leaf alone, completed with LEGO_ISSUER_CERT_PATH', async () => {
    world = await createWorld();
    const p = files(join(world.dir, 'lego'), {
      'a.crt': ec.certPem,
      'a.key': ec.keyPem,
      'a.issuer.crt': ec.chainPem,
    });
    const result = await runCli(['deploy'], {
      ...world.env,
      LEGO_CERT_PATH: p['a.crt'],
      LEGO_CERT_KEY_PATH: p['a.key'],
      LEGO_ISSUER_CERT_PATH: p['a.issuer.crt'],
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const served = world.fake.serving('1234567');
    assert.deepEqual([served?.fingerprint, served?.chainLength], [ec.fingerprint, 2]);
  });

  it('lego 5: LEGO_HOOK_* variables', async () => {
    world = await createWorld();
    const p = files(join(world.dir, 'lego5'), { 'a.crt': rsa.fullchainPem, 'a.key': rsa.keyPem });
    const result = await runCli(['deploy', '--verbose'], {
      ...world.env,
      LEGO_HOOK_CERT_PATH: p['a.crt'],
      LEGO_HOOK_CERT_KEY_PATH: p['a.key'],
      LEGO_HOOK_CERT_DOMAINS: 'example.com',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^debug: certificate from lego 5 /m);
    assert.deepEqual(
      world.fake.acceptedUploads().map((u) => [u.siteId, u.form.auth_type, u.form.input_hash]),
      [['1234567', 'RSA', rsa.fingerprint]],
    );
  });

  it('acme.sh --reloadcmd: CERT_FULLCHAIN_PATH and CERT_KEY_PATH, with no command at all', async () => {
    world = await createWorld();
    const p = files(join(world.dir, 'acme', 'example.com_ecc'), {
      'fullchain.cer': ec.fullchainPem,
      'example.com.key': ec.keyPem,
    });
    const result = await runCli([], {
      ...world.env,
      CERT_FULLCHAIN_PATH: p['fullchain.cer'],
      CERT_KEY_PATH: p['example.com.key'],
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(world.fake.acceptedUploads().length, 2);
  });

  it('Certbot wins when several clients are named', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
    const p = files(join(world.dir, 'lego'), { 'a.crt': rsa.fullchainPem, 'a.key': rsa.keyPem });
    const result = await runCli(['deploy'], {
      ...world.env,
      RENEWED_LINEAGE: lineage,
      LEGO_CERT_PATH: p['a.crt'],
      LEGO_CERT_KEY_PATH: p['a.key'],
    });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(world.fake.acceptedUploads().every((u) => u.form.input_hash === ec.fingerprint));
  });
});

describe('hooks/', () => {
  it('certbot-deploy.sh finds incap-cert through INCAP_CERT_BIN and deploys', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
    const bin = join(binDir(world.dir), 'incap-cert');
    const result = await runCommand(join(ROOT, 'hooks', 'certbot-deploy.sh'), [], {
      ...world.env,
      RENEWED_LINEAGE: lineage,
      INCAP_CERT_BIN: bin,
      PATH: '/usr/bin:/bin',
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(world.fake.acceptedUploads().length, 2);
  });

  it('certbot-deploy.sh finds incap-cert on PATH; an unmapped lineage exits 0 with nothing on stderr', async () => {
    world = await createWorld({ map: { 'other.example': 1234567 } });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
    const result = await runCommand(join(ROOT, 'hooks', 'certbot-deploy.sh'), [], {
      ...world.env,
      RENEWED_LINEAGE: lineage,
      PATH: `${binDir(world.dir)}:/usr/bin:/bin`,
    });
    assert.equal(result.code, 0);
    assert.equal(result.stderr, '');
    assert.match(result.stdout, /nothing to upload/);
    assert.equal(world.fake.requests.length, 0);
  });

  it('certbot-deploy.sh says so when incap-cert cannot be found', async () => {
    const result = await runCommand(join(ROOT, 'hooks', 'certbot-deploy.sh'), [], {
      RENEWED_LINEAGE: '/x',
      PATH: '/nonexistent',
      INCAP_CERT_PREFIX: '/nonexistent',
    });
    assert.equal(result.code, 127);
    assert.match(result.stderr, /^incap-cert: not found/);
  });

  it('dehydrated-hook.sh pushes on deploy_cert and ignores every other handler silently', async () => {
    world = await createWorld();
    const p = files(join(world.dir, 'dehydrated', 'certs', 'example.com'), {
      'privkey.pem': ec.keyPem,
      'cert.pem': ec.certPem,
      'fullchain.pem': ec.fullchainPem,
      'chain.pem': ec.chainPem,
    });
    const env = { ...world.env, PATH: `${binDir(world.dir)}:/usr/bin:/bin` };
    const hook = join(ROOT, 'hooks', 'dehydrated-hook.sh');
    for (const handler of [
      'startup_hook',
      'deploy_challenge',
      'clean_challenge',
      'sync_cert',
      'unchanged_cert',
      'exit_hook',
      'this_hookscript_is_broken__dehydrated_is_working_fine__please_ignore_unknown_hooks_in_your_script',
    ]) {
      const result = await runCommand(hook, [handler, 'example.com', 'x', 'y'], env);
      assert.deepEqual([handler, result.code, result.stdout, result.stderr], [handler, 0, '', '']);
    }
    assert.equal(world.fake.requests.length, 0);
    const deployed = await runCommand(
      hook,
      [
        'deploy_cert',
        'example.com',
        p['privkey.pem'] ?? '',
        p['cert.pem'] ?? '',
        p['fullchain.pem'] ?? '',
        p['chain.pem'] ?? '',
        '1700000000',
      ],
      env,
    );
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.deepEqual(
      world.fake
        .acceptedUploads()
        .map((u) => [
          u.siteId,
          u.form.input_hash,
          Buffer.from(u.form.certificate ?? '', 'base64').toString(),
        ]),
      [
        ['1234567', ec.fingerprint, ec.fullchainPem],
        ['7654321', ec.fingerprint, ec.fullchainPem],
      ],
    );
  });

  it('acme.sh/incap_cert.sh, sourced in sh, returns 0 on success and non-zero on failure', async () => {
    world = await createWorld({ map: { 'example.com': 1234567, 'www.example.com': 404 } });
    const p = files(join(world.dir, 'acme', 'example.com_ecc'), {
      'example.com.key': ec.keyPem,
      'example.com.cer': ec.certPem,
      'ca.cer': ec.chainPem,
      'fullchain.cer': ec.fullchainPem,
    });
    const call = (hook: string) =>
      runCommand(
        '/bin/sh',
        [
          '-c',
          `. "${hook}"; incap_cert_deploy example.com "$1" "$2" "$3" "$4"; echo "returned $?"`,
          'sh',
          p['example.com.key'] ?? '',
          p['example.com.cer'] ?? '',
          p['ca.cer'] ?? '',
          p['fullchain.cer'] ?? '',
        ],
        {
          ...world.env,
          PATH: `${binDir(world.dir)}:/usr/bin:/bin`,
        },
      );
    const plugin = join(ROOT, 'hooks', 'acme.sh', 'incap_cert.sh');
    const failing = await call(plugin);
    assert.match(failing.stdout, /^returned 1$/m);
    assert.match(failing.stderr, /site 404 \(www\.example\.com\): upload failed/);
    world.fake.addSite('404', 'www.example.com');
    const ok = await call(plugin);
    assert.match(ok.stdout, /^returned 0$/m, ok.stderr);
    assert.equal(world.fake.serving('404')?.fingerprint, ec.fingerprint);
  });
});
