/**
 * End to end: real ACME clients (Debian's certbot, lego and dehydrated; acme.sh's plugin contract) against a real
 * ACME server (pebble), running the built incap-cert as their hook, uploading to the fake Imperva API. Every
 * scenario asserts that the fake Imperva API now serves exactly the certificate the client wrote, with the right
 * auth_type, and that the client saw no hook error — and is shown to fail when the hook is broken (the config points
 * the names at site ids the account does not have). Run by scripts/e2e.sh (npm run test:e2e).
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeImperva } from '../support/fake-imperva.js';
import {
  CLI,
  ROOT,
  newApiKey,
  runCommand,
  tempDir,
  writeConfig,
  type CliResult,
} from '../support/harness.js';
import { startPebble, type Pebble } from '../support/pebble.js';
import { assertNoSecrets, secretsOf } from '../support/world.js';

const API_ID = '4242';
const SITES: Record<string, string> = {
  '101': 'a.example.com',
  '102': 'b.example.com',
  '103': 'r.example.com',
  '104': 'l.example.com',
  '105': 'd.example.com',
  '106': 's.example.com',
};
const MAP = {
  'a.example.com': 101,
  'b.example.com': 102,
  'r.example.com': 103,
  'f.example.com': 999, // the account has no site 999: the fake answers res 9413
  'l.example.com': 104,
  'd.example.com': 105,
  'www.d.example.com': 105,
  's.example.com': 106,
};

let work: string;
let pebble: Pebble;
let fake: FakeImperva;
let apiKey: string;
let bin: string;
/** The environment every client runs with: incap-cert on PATH, its config, and trust in pebble's TLS. */
let env: Record<string, string>;
/** The same, with a config that points every name at a site id the account does not have. */
let brokenEnv: Record<string, string>;

before(async () => {
  work = tempDir('incap-cert-e2e-');
  pebble = await startPebble(work);
  apiKey = newApiKey();
  fake = await FakeImperva.start({ apiId: API_ID, apiKey, sites: SITES });
  bin = join(work, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'incap-cert'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(bin, 'incap-cert'), 0o755);
  const api = { id: API_ID, key: apiKey, baseUrl: fake.url };
  const common = {
    stateDir: join(work, 'state'),
    retryDelaySeconds: 0.01,
    logFile: join(work, 'incap-cert.log'),
  };
  const good = writeConfig(join(work), { api, sites: MAP, ...common });
  const brokenDir = join(work, 'broken');
  mkdirSync(brokenDir);
  const broken = writeConfig(brokenDir, {
    api,
    sites: Object.fromEntries(Object.keys(MAP).map((name, index) => [name, 9000 + index])),
    ...common,
  });
  const base = {
    PATH: `${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    REQUESTS_CA_BUNDLE: pebble.caFile,
    LEGO_CA_CERTIFICATES: pebble.caFile,
    CURL_CA_BUNDLE: pebble.caFile,
  };
  env = { ...base, INCAP_CERT_CONFIG: good };
  brokenEnv = { ...base, INCAP_CERT_CONFIG: broken };
});

after(async () => {
  await fake?.close();
  await pebble?.stop();
});

/** The leaf of a PEM file the client wrote: its SHA-256 and key type as Imperva names it. */
function leafOf(file: string): { fingerprint: string; authType: 'ECC' | 'RSA' } {
  const leaf = new X509Certificate(readFileSync(file));
  return {
    fingerprint: leaf.fingerprint256.replaceAll(':', '').toLowerCase(),
    authType: leaf.publicKey.asymmetricKeyType === 'ec' ? 'ECC' : 'RSA',
  };
}

function assertServes(siteIds: string[], certFile: string, authType: 'ECC' | 'RSA'): void {
  const leaf = leafOf(certFile);
  assert.equal(leaf.authType, authType, `${certFile} is ${leaf.authType}`);
  for (const siteId of siteIds) {
    const served = fake.serving(siteId, authType);
    assert.equal(
      served?.fingerprint,
      leaf.fingerprint,
      `site ${siteId} serves the certificate in ${certFile}`,
    );
    assert.equal(served?.authType, authType);
  }
}

function assertNotServing(siteIds: string[], certFile: string): void {
  const { fingerprint } = leafOf(certFile);
  for (const siteId of siteIds)
    assert.notEqual(fake.serving(siteId)?.fingerprint, fingerprint, `site ${siteId}`);
}

const output = (result: CliResult) => `${result.stdout}\n${result.stderr}`;

function assertNoHookError(result: CliResult): void {
  assert.doesNotMatch(output(result), /reported error code/);
  assert.doesNotMatch(output(result), /ran with error output/);
}

function assertClean(result: CliResult, ...files: string[]): void {
  assertNoSecrets(
    Object.fromEntries<string>([
      ['client output', output(result)],
      ...files.map((file): [string, string] => [file, readFileSync(file, 'utf8')]),
    ]),
    secretsOf(apiKey),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Certbot

function certbotDirs(name: string) {
  const dir = join(work, `certbot-${name}`);
  return {
    dir,
    live: join(dir, 'config', 'live'),
    log: join(dir, 'logs', 'letsencrypt.log'),
    hooks: join(dir, 'config', 'renewal-hooks', 'deploy'),
  };
}

function certbot(name: string, args: string[], runEnv: Record<string, string>): Promise<CliResult> {
  const { dir } = certbotDirs(name);
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
    runEnv,
  );
}

function installDropIn(name: string): void {
  const { hooks } = certbotDirs(name);
  mkdirSync(hooks, { recursive: true });
  copyFileSync(join(ROOT, 'hooks', 'certbot-deploy.sh'), join(hooks, 'incap-cert'));
  chmodSync(join(hooks, 'incap-cert'), 0o755);
}

describe('certbot', () => {
  it('1. certonly --standalone --deploy-hook "incap-cert deploy": ECDSA, two names, two sites', async () => {
    const names = ['-d', 'a.example.com', '-d', 'b.example.com'];
    // Broken first: the hook fails, Certbot still exits 0 and says so; nothing is served.
    const broken = await certbot(
      'one',
      ['certonly', '--standalone', ...names, '--cert-name', 'broken', '--deploy-hook', 'incap-cert deploy'],
      brokenEnv,
    );
    assert.equal(broken.code, 0, output(broken));
    assert.match(output(broken), /Hook 'deploy-hook' reported error code 1/);
    assertNotServing(['101', '102'], join(certbotDirs('one').live, 'broken', 'cert.pem'));

    const result = await certbot(
      'one',
      [
        'certonly',
        '--standalone',
        ...names,
        '--cert-name',
        'a.example.com',
        '--deploy-hook',
        'incap-cert deploy',
      ],
      env,
    );
    assert.equal(result.code, 0, output(result));
    assertNoHookError(result);
    assert.match(output(result), /uploaded a\.example\.com → site 101/);
    assertServes(['101', '102'], join(certbotDirs('one').live, 'a.example.com', 'cert.pem'), 'ECC');
    assertClean(result, certbotDirs('one').log);
  });

  it('2. renew --force-renewal with the hook Certbot saved uploads the new certificate', async () => {
    const lineage = join(certbotDirs('one').live, 'a.example.com');
    const before = leafOf(join(lineage, 'cert.pem')).fingerprint;
    const saved = readFileSync(
      join(certbotDirs('one').dir, 'config', 'renewal', 'a.example.com.conf'),
      'utf8',
    );
    assert.match(saved, /^renew_hook = incap-cert deploy$/m);

    const broken = await certbot(
      'one',
      ['renew', '--force-renewal', '--cert-name', 'a.example.com'],
      brokenEnv,
    );
    assert.equal(broken.code, 0);
    assert.match(output(broken), /Hook 'deploy-hook' reported error code 1/);
    assertNotServing(['101', '102'], join(lineage, 'cert.pem'));

    const result = await certbot('one', ['renew', '--force-renewal', '--cert-name', 'a.example.com'], env);
    assert.equal(result.code, 0, output(result));
    assertNoHookError(result);
    assert.notEqual(leafOf(join(lineage, 'cert.pem')).fingerprint, before);
    assertServes(['101', '102'], join(lineage, 'cert.pem'), 'ECC');
  });

  it('3. certonly --key-type rsa, then renew with the renewal-hooks/deploy drop-in', async () => {
    const created = await certbot(
      'rsa',
      ['certonly', '--standalone', '--key-type', 'rsa', '-d', 'r.example.com'],
      env,
    );
    assert.equal(created.code, 0, output(created));
    installDropIn('rsa');
    const lineage = join(certbotDirs('rsa').live, 'r.example.com');

    const broken = await certbot('rsa', ['renew', '--force-renewal'], brokenEnv);
    assert.equal(broken.code, 0);
    assert.match(output(broken), /Hook 'deploy-hook' reported error code 1/);
    assertNotServing(['103'], join(lineage, 'cert.pem'));

    const result = await certbot('rsa', ['renew', '--force-renewal'], env);
    assert.equal(result.code, 0, output(result));
    assertNoHookError(result);
    assertServes(['103'], join(lineage, 'cert.pem'), 'RSA');
    assert.equal(
      fake
        .uploads()
        .filter((u) => u.siteId === '103' && u.res === 0)
        .at(-1)?.form.auth_type,
      'RSA',
    );
  });

  it('4. the drop-in with an unmapped lineage: no upload, and no hook error or error output', async () => {
    const created = await certbot('unmapped', ['certonly', '--standalone', '-d', 'u.example.com'], env);
    assert.equal(created.code, 0, output(created));
    installDropIn('unmapped');

    // Broken: with its config gone, even an unmapped lineage must be loud.
    const broken = await certbot('unmapped', ['renew', '--force-renewal'], {
      ...env,
      INCAP_CERT_CONFIG: join(work, 'missing.json'),
    });
    assert.match(output(broken), /Hook 'deploy-hook' reported error code 2/);

    const requests = fake.requests.length;
    const result = await certbot('unmapped', ['renew', '--force-renewal'], env);
    assert.equal(result.code, 0, output(result));
    assertNoHookError(result);
    assert.match(output(result), /no Imperva site is mapped to u\.example\.com; nothing to upload/);
    assert.equal(fake.requests.length, requests);
  });

  it('5. a failing upload: Certbot exits 0, the hook exit code and error line are in its output, nothing secret', async () => {
    const result = await certbot(
      'failing',
      ['certonly', '--standalone', '-d', 'f.example.com', '--deploy-hook', 'incap-cert deploy'],
      env,
    );
    assert.equal(result.code, 0, 'Certbot exits 0 although its deploy hook failed');
    assert.match(output(result), /Hook 'deploy-hook' reported error code 1/);
    assert.match(
      output(result),
      /Hook 'deploy-hook' ran with error output:\s+error: site 999 \(f\.example\.com\): upload failed: Imperva answered res 9413/,
    );
    const log = certbotDirs('failing').log;
    assert.match(readFileSync(log, 'utf8'), /error: site 999 \(f\.example\.com\): upload failed/);
    assertClean(result, log, join(work, 'incap-cert.log'));
    const queued = JSON.parse(readFileSync(join(work, 'state', 'queue.json'), 'utf8')) as {
      entries: { siteId: string }[];
    };
    assert.ok(
      queued.entries.some((entry) => entry.siteId === '999'),
      'the failure is queued for sync',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// lego

function lego(
  path: string,
  domain: string,
  args: string[],
  runEnv: Record<string, string>,
): Promise<CliResult> {
  return runCommand(
    'lego',
    [
      '--server',
      pebble.directory,
      '--email',
      'ops@example.com',
      '--accept-tos',
      '--domains',
      domain,
      '--http',
      '--http.port',
      `127.0.0.1:${pebble.httpPort}`,
      '--path',
      path,
      ...args,
    ],
    runEnv,
  );
}

describe('lego', () => {
  it('6. lego run --run-hook "incap-cert deploy"', async () => {
    const path = join(work, 'lego');
    const broken = await lego(path, 'l.example.com', ['run', '--run-hook', 'incap-cert deploy'], brokenEnv);
    assert.notEqual(broken.code, 0, 'a failing hook fails lego');
    assertNotServing(['104'], join(path, 'certificates', 'l.example.com.crt'));

    const result = await lego(path, 'l.example.com', ['run', '--run-hook', 'incap-cert deploy'], env);
    assert.equal(result.code, 0, output(result));
    assert.match(output(result), /uploaded l\.example\.com → site 104/);
    assertServes(['104'], join(path, 'certificates', 'l.example.com.crt'), 'ECC');
    assert.equal(fake.serving('104')?.chainLength, 2, 'the leaf and its issuer');
    assertClean(result);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// dehydrated

function dehydrated(dir: string, args: string[], runEnv: Record<string, string>): Promise<CliResult> {
  return runCommand('dehydrated', ['--config', join(dir, 'config'), ...args], runEnv);
}

describe('dehydrated', () => {
  it('7. dehydrated with hooks/dehydrated-hook.sh', async () => {
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
        'KEY_ALGO=prime256v1',
        '',
      ].join('\n'),
    );
    writeFileSync(join(dir, 'domains.txt'), 'd.example.com www.d.example.com\n');
    const registered = await dehydrated(dir, ['--register', '--accept-terms'], env);
    assert.equal(registered.code, 0, output(registered));

    const broken = await dehydrated(dir, ['--cron'], brokenEnv);
    assert.notEqual(broken.code, 0, 'a failing deploy_cert stops dehydrated');
    assert.match(output(broken), /upload failed/);
    const cert = join(dir, 'certs', 'd.example.com', 'cert.pem');
    assertNotServing(['105'], cert);

    const result = await dehydrated(dir, ['--cron', '--force'], env);
    assert.equal(result.code, 0, output(result));
    assert.match(output(result), /uploaded d\.example\.com, www\.d\.example\.com → site 105/);
    assertServes(['105'], cert, 'ECC');
    assertClean(result);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// acme.sh: not packaged by Debian; its plugin contract is exercised as acme.sh exercises it — sourced, then called.

describe('acme.sh', () => {
  it('8. the deploy plugin, sourced and called as acme.sh calls it, with a certificate from pebble', async () => {
    const path = join(work, 'acme-source');
    const issued = await lego(path, 's.example.com', ['run'], env);
    assert.equal(issued.code, 0, output(issued));
    // Lay the files out as acme.sh does for an ECC certificate: ~/.acme.sh/DOMAIN_ecc/.
    const dir = join(work, 'acme.sh', 's.example.com_ecc');
    mkdirSync(dir, { recursive: true });
    const crt = readFileSync(join(path, 'certificates', 's.example.com.crt'), 'utf8');
    const leaf = crt.slice(0, crt.indexOf('-----END CERTIFICATE-----') + 26);
    const files = {
      key: join(dir, 's.example.com.key'),
      cert: join(dir, 's.example.com.cer'),
      ca: join(dir, 'ca.cer'),
      fullchain: join(dir, 'fullchain.cer'),
    };
    copyFileSync(join(path, 'certificates', 's.example.com.key'), files.key);
    writeFileSync(files.cert, leaf);
    copyFileSync(join(path, 'certificates', 's.example.com.issuer.crt'), files.ca);
    writeFileSync(files.fullchain, crt);
    const plugin = join(ROOT, 'hooks', 'acme.sh', 'incap_cert.sh');
    const call = (runEnv: Record<string, string>) =>
      runCommand(
        '/bin/sh',
        [
          '-c',
          `. "$0"; incap_cert_deploy s.example.com "$1" "$2" "$3" "$4"`,
          plugin,
          files.key,
          files.cert,
          files.ca,
          files.fullchain,
        ],
        runEnv,
      );

    const broken = await call(brokenEnv);
    assert.notEqual(broken.code, 0, 'the plugin returns non-zero when the push fails');
    assertNotServing(['106'], files.cert);

    const result = await call(env);
    assert.equal(result.code, 0, output(result));
    assertServes(['106'], files.cert, 'ECC');
    assertClean(result);
  });
});
