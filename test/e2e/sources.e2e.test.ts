/**
 * End to end, `sync` beyond Certbot: real lego and dehydrated (Debian's) issue from pebble and run incap-cert as
 * their hook while the fake Imperva API fails every upload; the state folder is then wiped, and `sync` must find
 * the certificates again in the folders the clients wrote (config `sources`) and deliver exactly them. Run by
 * scripts/e2e.sh (npm run test:e2e).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeImperva } from '../support/fake-imperva.js';
import { CLI, ROOT, newApiKey, runCli, runCommand, tempDir, writeConfig } from '../support/harness.js';
import { startPebble, type Pebble } from '../support/pebble.js';

const API_ID = '4242';

let work: string;
let pebble: Pebble;
let fake: FakeImperva;
let apiKey: string;
let bin: string;

before(async () => {
  work = tempDir('incap-cert-e2e-sources-');
  pebble = await startPebble(work);
  apiKey = newApiKey();
  fake = await FakeImperva.start({
    apiId: API_ID,
    apiKey,
    sites: { '201': 'lego.example.com', '202': 'dh.example.com' },
  });
  bin = join(work, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'incap-cert'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(bin, 'incap-cert'), 0o755);
});

after(async () => {
  await fake?.close();
  await pebble?.stop();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

/**
 * A config for one client: its folder in `sources`, its one site (a mapped site nothing covers is a warning and
 * exit 1 of its own), an empty live folder, a state folder of its own.
 */
function setup(name: string, sources: Record<string, string[]>, sites: Record<string, number>) {
  const dir = join(work, `config-${name}`);
  mkdirSync(join(dir, 'live'), { recursive: true });
  const stateDir = join(dir, 'state');
  const config = writeConfig(dir, {
    api: { id: API_ID, key: apiKey, baseUrl: fake.url },
    sites,
    stateDir,
    liveDir: join(dir, 'live'),
    retryDelaySeconds: 0.01,
    sources,
  });
  const env = {
    PATH: `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    LEGO_CA_CERTIFICATES: pebble.caFile,
    CURL_CA_BUNDLE: pebble.caFile,
    INCAP_CERT_CONFIG: config,
  };
  return { stateDir, env };
}

function leafOf(file: string): { fingerprint: string; authType: 'ECC' | 'RSA' } {
  const leaf = new X509Certificate(readFileSync(file));
  return {
    fingerprint: leaf.fingerprint256.replaceAll(':', '').toLowerCase(),
    authType: leaf.publicKey.asymmetricKeyType === 'ec' ? 'ECC' : 'RSA',
  };
}

/** The hook failed and queued; the queue is wiped; sync delivers the client's certificate from its folder. */
async function wipeAndSync(stateDir: string, env: Record<string, string>, siteId: string, certFile: string) {
  assert.ok(existsSync(join(stateDir, 'queue.json')), 'the failed upload was queued');
  assert.equal(fake.serving(siteId), undefined);
  rmSync(stateDir, { recursive: true });
  fake.clearFaults();
  const sync = await runCli(['sync'], env);
  assert.equal(sync.code, 0, `${sync.stdout}\n${sync.stderr}`);
  assert.match(sync.stdout, /sync: 0 current, 1 uploaded, 0 failed\n$/);
  const { fingerprint, authType } = leafOf(certFile);
  const served = fake.serving(siteId, authType);
  assert.deepEqual([served?.fingerprint, served?.authType], [fingerprint, authType]);
  assert.equal(served?.chainLength, 2, 'the leaf and its issuer');
  const upload = fake
    .acceptedUploads()
    .filter((u) => u.siteId === siteId)
    .at(-1);
  assert.deepEqual([upload?.form.input_hash, upload?.form.auth_type], [fingerprint, authType]);
}

describe('sync from the folders real clients wrote, after a failed hook and a wiped state folder', () => {
  it('lego run --no-bundle --run-hook "incap-cert deploy"', async () => {
    const path = join(work, 'lego');
    const { stateDir, env } = setup(
      'lego',
      { lego: [join(path, 'certificates')] },
      { 'lego.example.com': 201 },
    );
    fake.inject({ endpoint: 'upload', times: Infinity, fault: { status: 502, body: '<html/>' } });
    const run = await runCommand(
      'lego',
      [
        '--server',
        pebble.directory,
        '--email',
        'ops@example.com',
        '--accept-tos',
        '--domains',
        'lego.example.com',
        '--http',
        '--http.port',
        `127.0.0.1:${pebble.httpPort}`,
        '--path',
        path,
        'run',
        '--no-bundle',
        '--run-hook',
        'incap-cert deploy',
      ],
      env,
    );
    assert.notEqual(run.code, 0, 'a failing hook fails lego');
    const cert = join(path, 'certificates', 'lego.example.com.crt');
    assert.equal(
      readFileSync(cert, 'utf8').match(/BEGIN CERTIFICATE/g)?.length,
      1,
      '--no-bundle: the leaf alone',
    );
    await wipeAndSync(stateDir, env, '201', cert);
  });

  it('dehydrated --cron with hooks/dehydrated-hook.sh', async () => {
    const dir = join(work, 'dehydrated');
    mkdirSync(join(dir, 'wellknown'), { recursive: true });
    writeFileSync(
      join(dir, 'config'),
      [
        `CA="${pebble.directory}"`,
        `BASEDIR="${dir}"`,
        `WELLKNOWN="${join(dir, 'wellknown')}"`,
        `DOMAINS_TXT="${join(dir, 'domains.txt')}"`,
        `HOOK="${join(ROOT, 'hooks', 'dehydrated-hook.sh')}"`,
        'KEY_ALGO=rsa',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'domains.txt'), 'dh.example.com\n');
    const { stateDir, env } = setup(
      'dehydrated',
      { dehydrated: [join(dir, 'certs')] },
      { 'dh.example.com': 202 },
    );
    const registered = await runCommand(
      'dehydrated',
      ['--config', join(dir, 'config'), '--register', '--accept-terms'],
      env,
    );
    assert.equal(registered.code, 0, registered.stdout + registered.stderr);
    fake.inject({ endpoint: 'upload', times: Infinity, fault: { status: 502, body: '<html/>' } });
    const run = await runCommand('dehydrated', ['--config', join(dir, 'config'), '--cron'], env);
    assert.notEqual(run.code, 0, 'a failing deploy_cert stops dehydrated');
    await wipeAndSync(stateDir, env, '202', join(dir, 'certs', 'dh.example.com', 'cert.pem'));
  });
});
