/**
 * `sync` beyond Certbot: a deploy from lego, acme.sh or dehydrated fails (the hand-off each client really makes,
 * src/sources/env.ts and hooks/), the state folder is wiped, and `sync` still delivers the certificate, found again
 * in the client's own folder (config `sources`). Layouts as the clients write them (test/support/client-layouts.ts;
 * the end-to-end suite makes the same with the real programs).
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { writeAcmeSh, writeDehydrated, writeLego } from '../support/client-layouts.js';
import { CLI, ROOT, runCli, runCommand, type CliResult } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { assertNoSecrets, createWorld, secretsOf, type World } from '../support/world.js';

let ec: Leaf;
let rsa: Leaf;
let wildcard: Leaf;
let certbot: Leaf;
before(async () => {
  const pki = await createPki();
  ec = await issueLeaf(pki, { names: ['example.com', 'www.example.com'] });
  rsa = await issueLeaf(pki, { names: ['example.com'], keyType: 'rsa' });
  wildcard = await issueLeaf(pki, { names: ['*.example.com'], keyType: 'rsa' });
  certbot = await issueLeaf(pki, { names: ['certbot.example'] });
});

let world: World;
afterEach(async () => {
  await world?.close();
  rmSync(world.dir, { recursive: true, force: true });
});
after(() => world?.close());

interface Expected {
  siteId: string;
  authType: 'RSA' | 'ECC';
  leaf: Leaf;
}

/**
 * A host with Certbot too (its lineage for another site is in liveDir) and one other client whose folders are in
 * `sources`. `deploy` is the client's hand-off; it runs while Imperva fails every upload.
 */
async function failWipeSync(
  sources: Record<string, string[]>,
  deploy: (env: Record<string, string>) => Promise<CliResult>,
  expected: readonly Expected[],
): Promise<void> {
  const le = join(world.dir, 'le');
  writeCertbotLineage(le, 'certbot.example', certbot);
  const env = { ...world.env, PATH: `${binDir(world.dir)}:/usr/bin:/bin` };
  world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { status: 502, body: '<html/>' } });

  const failed = await deploy(env);
  assert.equal(failed.code, 1, `${failed.stdout}\n${failed.stderr}`);
  assert.equal(world.fake.acceptedUploads().length, 0);
  assert.ok(existsSync(world.queueFile), 'the failure was queued');
  rmSync(world.stateDir, { recursive: true });
  world.fake.clearFaults();

  const configFile = join(world.dir, 'sources.json');
  const config = JSON.parse(readFileSync(world.configFile, 'utf8')) as { sites: Record<string, number> };
  // Only the sites this host has certificates for: an uncovered mapped site is a warning and exit 1 of its own.
  const kept = new Set(['555', ...expected.map((one) => one.siteId)]);
  const sites = Object.fromEntries(Object.entries(config.sites).filter(([, id]) => kept.has(String(id))));
  writeFileSync(configFile, JSON.stringify({ ...config, sites, liveDir: join(le, 'live'), sources }), {
    mode: 0o600,
  });
  const syncEnv = { INCAP_CERT_CONFIG: configFile };
  const sync = await runCli(['sync'], syncEnv);
  assert.equal(sync.code, 0, sync.stderr);
  assert.equal(sync.stderr, '');
  assert.match(sync.stdout, new RegExp(`sync: 0 current, ${expected.length + 1} uploaded, 0 failed\\n$`));
  for (const { siteId, authType, leaf } of expected) {
    const served = world.fake.serving(siteId, authType);
    assert.deepEqual(
      [served?.fingerprint, served?.authType, served?.chainLength],
      [leaf.fingerprint, authType, 2],
      `site ${siteId} ${authType}`,
    );
    const upload = world.fake
      .acceptedUploads()
      .filter((u) => u.siteId === siteId && u.form.auth_type === authType)
      .at(-1);
    assert.deepEqual([upload?.form.input_hash, upload?.form.auth_type], [leaf.fingerprint, authType]);
  }
  assert.equal(world.fake.serving('555')?.fingerprint, certbot.fingerprint);
  assertNoSecrets(
    { stdout: sync.stdout, stderr: sync.stderr },
    secretsOf(world.apiKey, ...expected.map((e) => e.leaf)),
  );

  // Nothing is owed any more: a second sync only asks. (Not for a site with both key types: sites/status describes
  // one of them only, so sync may upload the other again — docs/imperva-api.md.)
  const dual = new Set(
    expected
      .filter((one) =>
        expected.some((other) => other.siteId === one.siteId && other.authType !== one.authType),
      )
      .map((one) => one.siteId),
  );
  const uploads = world.fake.uploads().length;
  const again = await runCli(['sync'], syncEnv);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(
    world.fake
      .uploads()
      .slice(uploads)
      .filter((upload) => !dual.has(upload.siteId ?? '')),
    [],
    again.stdout,
  );
}

async function newWorld(): Promise<void> {
  world = await createWorld({
    sites: {
      '1234567': 'example.com',
      '7654321': 'www.example.com',
      '3000': 'wild.example.com',
      '555': 'certbot.example',
    },
    map: {
      'example.com': 1234567,
      'www.example.com': 7654321,
      '*.example.com': 3000,
      'certbot.example': 555,
    },
  });
}

/** A bin folder with `incap-cert` on it, as an installed one would be. */
function binDir(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'incap-cert'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(bin, 'incap-cert'), 0o755);
  return bin;
}

describe('sync finds certificates again in the other clients’ folders after the state folder was wiped', () => {
  it('lego 4 --no-bundle (LEGO_CERT_PATH, LEGO_ISSUER_CERT_PATH): the leaf, completed by its issuer file', async () => {
    await newWorld();
    const path = join(world.dir, 'lego');
    const files = writeLego(path, 'example.com', ec, false);
    await failWipeSync(
      { lego: [join(path, 'certificates')] },
      (env) =>
        runCli(['deploy'], {
          ...env,
          LEGO_ACCOUNT_EMAIL: 'ops@example.com',
          LEGO_CERT_DOMAIN: 'example.com',
          LEGO_CERT_PATH: files.cert,
          LEGO_CERT_KEY_PATH: files.key,
          LEGO_ISSUER_CERT_PATH: files.issuer,
        }),
      [
        { siteId: '1234567', authType: 'ECC', leaf: ec },
        { siteId: '7654321', authType: 'ECC', leaf: ec },
      ],
    );
  });

  it('lego 5 (LEGO_HOOK_*): a wildcard, stored as _.example.com', async () => {
    await newWorld();
    const path = join(world.dir, 'lego');
    const files = writeLego(path, '*.example.com', wildcard);
    assert.ok(files.cert.endsWith('/_.example.com.crt'));
    await failWipeSync(
      { lego: [path] },
      (env) =>
        runCli(['deploy'], {
          ...env,
          LEGO_HOOK_CERT_NAME: '_.example.com',
          LEGO_HOOK_CERT_DOMAINS: '*.example.com',
          LEGO_HOOK_CERT_KEY_TYPE: 'RSA2048',
          LEGO_HOOK_CERT_PATH: files.cert,
          LEGO_HOOK_CERT_KEY_PATH: files.key,
          LEGO_HOOK_ISSUER_CERT_PATH: files.issuer,
        }),
      [{ siteId: '3000', authType: 'RSA', leaf: wildcard }],
    );
  });

  it('acme.sh: --reloadcmd for the RSA folder and the deploy plugin for the _ecc folder', async () => {
    await newWorld();
    const home = join(world.dir, '.acme.sh');
    const rsaFiles = writeAcmeSh(home, 'example.com', rsa, false);
    const ecFiles = writeAcmeSh(home, 'example.com', ec, true);
    await failWipeSync(
      { 'acme.sh': [home] },
      async (env) => {
        // --reloadcmd is eval'd in the domain's folder with these set.
        const reload = await runCommand(
          '/bin/sh',
          ['-c', 'cd "$0" && incap-cert', rsaFiles.folder as string],
          {
            ...env,
            Le_Domain: 'example.com',
            CERT_PATH: rsaFiles.leaf,
            CERT_KEY_PATH: rsaFiles.key,
            CA_CERT_PATH: rsaFiles.issuer,
            CERT_FULLCHAIN_PATH: rsaFiles.cert,
          },
        );
        assert.equal(reload.code, 1, reload.stderr);
        // acme.sh sources the plugin and calls NAME_deploy DOMAIN KEY CERT CA FULLCHAIN.
        return runCommand(
          '/bin/sh',
          [
            '-c',
            '. "$0"; incap_cert_deploy example.com "$1" "$2" "$3" "$4"',
            join(ROOT, 'hooks', 'acme.sh', 'incap_cert.sh'),
            ecFiles.key,
            ecFiles.leaf as string,
            ecFiles.issuer,
            ecFiles.cert,
          ],
          env,
        );
      },
      [
        { siteId: '1234567', authType: 'RSA', leaf: rsa },
        { siteId: '1234567', authType: 'ECC', leaf: ec },
        { siteId: '7654321', authType: 'ECC', leaf: ec },
      ],
    );
  });

  it('dehydrated: deploy_cert through hooks/dehydrated-hook.sh, certs/NAME/ symlinks to the newest files', async () => {
    await newWorld();
    const base = join(world.dir, 'dehydrated');
    writeDehydrated(base, 'example.com', rsa, 1_700_000_000);
    const files = writeDehydrated(base, 'example.com', ec, 1_700_100_000);
    await failWipeSync(
      { dehydrated: [join(base, 'certs')] },
      (env) =>
        runCommand(
          join(ROOT, 'hooks', 'dehydrated-hook.sh'),
          [
            'deploy_cert',
            'example.com',
            files.key,
            files.leaf as string,
            files.cert,
            files.issuer,
            '1700100000',
          ],
          env,
        ),
      [
        { siteId: '1234567', authType: 'ECC', leaf: ec },
        { siteId: '7654321', authType: 'ECC', leaf: ec },
      ],
    );
    // The older RSA files are versions, not a certificate: nothing RSA was sent.
    assert.equal(world.fake.serving('1234567', 'RSA'), undefined);
  });
});
