/**
 * End to end, the Debian packages and the arm64 executable (built by scripts/e2e.sh with npm run deb):
 *  - lintian finds no error or warning that is not overridden, in either package;
 *  - the amd64 package installs with dpkg -i on this machine; Certbot (against pebble) renews with the packaged
 *    drop-in, which runs /usr/bin/incap-cert with /etc/incap-cert/config.json and uploads to the fake Imperva API;
 *    `incap-cert install` and `uninstall` refuse to touch what dpkg owns; dpkg -r keeps the config and the queue;
 *    dpkg --purge removes the config and keeps the state folder only while its queue is not empty;
 *  - the arm64 executable (and the one inside the arm64 package) runs under qemu-aarch64-static: --version, and an
 *    upload to the fake Imperva API.
 *  - the docs are on the host: man renders incap-cert(1) and incap-cert-config(5) without a warning, bash-completion
 *    loads the completion, logrotate -d accepts /etc/logrotate.d/incap-cert (a conffile: kept by -r, gone on purge).
 * It installs and removes a package as root: run it on a throwaway machine (CI), as the whole e2e suite.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeImperva } from '../support/fake-imperva.js';
import { newApiKey, ROOT, runCommand, type CliResult } from '../support/harness.js';
import { startPebble, type Pebble } from '../support/pebble.js';
import { createPki, issueLeaf, writeCertbotLineage } from '../support/pki.js';
import { assertNoSecrets, secretsOf } from '../support/world.js';

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const DEB = {
  amd64: join(ROOT, 'dist', `incap-cert_${version}_amd64.deb`),
  arm64: join(ROOT, 'dist', `incap-cert_${version}_arm64.deb`),
};
const ARM64 = join(ROOT, 'dist', 'incap-cert-linux-arm64');
const QEMU = { QEMU_LD_PREFIX: '/usr/aarch64-linux-gnu' };
const QEMU_BIN = '/usr/bin/qemu-aarch64-static';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const API_ID = '4343';

let work: string;
let pebble: Pebble;
let fake: FakeImperva;
let apiKey: string;

before(async () => {
  for (const file of [...Object.values(DEB), ARM64]) {
    assert.ok(existsSync(file), `${file} is missing: scripts/e2e.sh builds it with npm run deb`);
  }
  work = mkdtempSync(join(tmpdir(), 'incap-cert-deb-e2e-'));
  pebble = await startPebble(work);
  apiKey = newApiKey();
  fake = await FakeImperva.start({
    apiId: API_ID,
    apiKey,
    sites: { '201': 'p.example.com', '202': 'q.example.com', '301': 'arm.example.com' },
  });
});

after(async () => {
  await fake?.close();
  await pebble?.stop();
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

const output = (result: CliResult) => `${result.stdout}\n${result.stderr}`;

function sh(command: string, args: string[]): CliResult {
  const result = spawnSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.error !== undefined) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function dpkg(...args: string[]): CliResult {
  return sh('dpkg', args);
}

function packageState(): string {
  const result = sh('dpkg-query', ['-W', '-f=${db:Status-Abbrev}', 'incap-cert']);
  return result.code === 0 ? result.stdout.trim() : 'not-installed';
}

const exists = (path: string) => {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
};
const mode = (path: string) => statSync(path).mode & 0o777;

/** What the package puts outside /etc/incap-cert and /var/lib/incap-cert; none of it may outlive a removal. */
const PACKAGE_FILES = [
  '/usr/bin/incap-cert',
  '/usr/share/incap-cert',
  '/usr/share/doc/incap-cert',
  '/usr/share/man/man1/incap-cert.1.gz',
  '/usr/share/man/man5/incap-cert-config.5.gz',
  '/usr/share/bash-completion/completions/incap-cert',
  '/usr/lib/systemd/system/incap-cert-sync.service',
  '/usr/lib/systemd/system/incap-cert-sync.timer',
  '/etc/letsencrypt/renewal-hooks/deploy/incap-cert',
];

function writeSystemConfig(sites: Record<string, number>, liveDir: string): void {
  const config = {
    api: { id: API_ID, key: apiKey, baseUrl: fake.url },
    sites,
    liveDir,
    retryDelaySeconds: 0.01,
    attempts: 2,
  };
  // As an administrator edits the conffile: in place, mode kept.
  writeFileSync('/etc/incap-cert/config.json', JSON.stringify(config, null, 2));
  assert.equal(mode('/etc/incap-cert/config.json'), 0o600);
}

function certbot(configDir: string, args: string[]): Promise<CliResult> {
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
      configDir,
      '--work-dir',
      join(work, 'certbot-work'),
      '--logs-dir',
      join(work, 'certbot-logs'),
      '--http-01-address',
      '127.0.0.1',
      '--http-01-port',
      String(pebble.httpPort),
      '--no-random-sleep-on-renew',
    ],
    // No INCAP_CERT_CONFIG, no INCAP_CERT_BIN: the drop-in finds /usr/bin/incap-cert, which reads /etc/incap-cert.
    { PATH, REQUESTS_CA_BUNDLE: pebble.caFile },
  );
}

function fingerprint(file: string): string {
  return new X509Certificate(readFileSync(file)).fingerprint256.replaceAll(':', '').toLowerCase();
}

describe('lintian', () => {
  it('reports no error or warning that is not overridden, in either package', () => {
    const result = sh('lintian', ['--fail-on', 'error,warning', DEB.amd64, DEB.arm64]);
    const tags = output(result)
      .split('\n')
      .filter((line) => /^[EW]: /.test(line));
    assert.deepEqual(tags, [], output(result));
    assert.equal(result.code, 0, output(result));
  });
});

describe('the amd64 package on this machine', () => {
  it('installs with dpkg -i: files, modes, the drop-in, the enabled timer, the state folder', () => {
    assert.equal(packageState(), 'not-installed', 'incap-cert must not be installed before this test');
    for (const path of ['/etc/incap-cert', '/var/lib/incap-cert']) {
      assert.ok(!existsSync(path), `${path} must not exist before this test (run it on a throwaway machine)`);
    }
    const installed = dpkg('-i', DEB.amd64);
    assert.equal(installed.code, 0, output(installed));
    assert.equal(packageState(), 'ii');
    assert.equal(mode('/usr/bin/incap-cert'), 0o755);
    assert.equal(mode('/etc/incap-cert'), 0o700);
    assert.equal(mode('/etc/incap-cert/config.json'), 0o600);
    assert.equal(mode('/var/lib/incap-cert'), 0o700);
    assert.equal(
      realpathSync('/etc/letsencrypt/renewal-hooks/deploy/incap-cert'),
      '/usr/share/incap-cert/hooks/certbot-deploy.sh',
    );
    assert.equal(mode('/usr/share/incap-cert/hooks/certbot-deploy.sh'), 0o755);
    assert.match(
      readFileSync('/usr/lib/systemd/system/incap-cert-sync.service', 'utf8'),
      /^ExecStart=\/usr\/bin\/incap-cert sync --verify$/m,
    );
    assert.ok(
      exists('/etc/systemd/system/timers.target.wants/incap-cert-sync.timer'),
      'the timer is enabled',
    );
    assert.match(dpkg('-L', 'incap-cert').stdout, /^\/usr\/share\/doc\/incap-cert\/copyright$/m);
    const conffiles = sh('dpkg-query', ['-W', '-f=${Conffiles}', 'incap-cert'])
      .stdout.trim()
      .split('\n')
      .map((line) => line.trim().split(' ')[0]);
    assert.deepEqual(conffiles, ['/etc/incap-cert/config.json', '/etc/logrotate.d/incap-cert']);
    assert.equal(sh('dpkg-query', ['-W', '-f=${Recommends}', 'incap-cert']).stdout, 'bsd-mailx | mailutils');
    const said = sh('/usr/bin/incap-cert', ['--version']);
    assert.equal(said.stdout, `incap-cert ${version}\n`);
    // systemd would accept the units (their ExecStart names an executable that exists).
    if (existsSync('/usr/bin/systemd-analyze')) {
      const verify = sh('systemd-analyze', ['verify', '/usr/lib/systemd/system/incap-cert-sync.service']);
      assert.doesNotMatch(
        output(verify),
        /incap-cert-sync\.service.*(not executable|Invalid|Failed)/,
        output(verify),
      );
    }
  });

  it('the docs are where their tools look: man renders both pages, bash-completion loads the completion, logrotate accepts its file', () => {
    // .ci/run installs man-db, bash-completion and logrotate; without them this would prove nothing.
    for (const tool of ['/usr/bin/man', '/usr/share/bash-completion/bash_completion', '/usr/sbin/logrotate'])
      assert.ok(existsSync(tool), `${tool} is missing: apt-get install man-db bash-completion logrotate`);
    const env = { PATH, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '100' };
    for (const [args, heading] of [
      [['incap-cert'], /^INCAP-CERT\(1\)/],
      [['5', 'incap-cert-config'], /^INCAP-CERT-CONFIG\(5\)/],
    ] as const) {
      const shown = spawnSync('man', ['--warnings', ...args], { encoding: 'utf8', env });
      assert.equal(shown.status, 0, shown.stderr);
      assert.equal(shown.stderr, '', `man ${args.join(' ')} warns`);
      assert.match(shown.stdout, heading);
    }
    assert.match(
      spawnSync('man', ['incap-cert'], { encoding: 'utf8', env }).stdout,
      /^ +\/usr\/share\/doc\/incap-cert\/$/m,
    );
    // bash-completion's on-demand loader, as an interactive shell runs it on the first TAB.
    const loaded = spawnSync(
      'bash',
      [
        '-c',
        '. /usr/share/bash-completion/bash_completion; __load_completion incap-cert; complete -p incap-cert',
      ],
      { encoding: 'utf8', env },
    );
    assert.equal(loaded.stdout.trim(), 'complete -F _incap_cert incap-cert', loaded.stderr);
    // And what the loaded function offers for `incap-cert sy<TAB>` and `incap-cert queue <TAB>`.
    const offered = (words: string[]) =>
      spawnSync(
        'bash',
        [
          '-c',
          [
            '. /usr/share/bash-completion/bash_completion; __load_completion incap-cert',
            `COMP_WORDS=(${words.map((word) => `'${word}'`).join(' ')}); COMP_CWORD=${words.length - 1}`,
            '_incap_cert; printf "%s\\n" "${COMPREPLY[@]}"',
          ].join('\n'),
        ],
        { encoding: 'utf8', env },
      ).stdout;
    assert.equal(offered(['incap-cert', 'sy']), 'sync\n');
    assert.deepEqual(offered(['incap-cert', 'queue', '']).split('\n').slice(0, 2), ['list', 'drop']);
    const rotate = sh('logrotate', ['-d', '/etc/logrotate.d/incap-cert']);
    assert.equal(rotate.code, 0, output(rotate));
    assert.doesNotMatch(output(rotate), /error/i);
    assert.match(output(rotate), /\/var\/log\/incap-cert\.log/);
    for (const doc of ['README.md.gz', 'docs/config.md.gz'])
      assert.ok(existsSync(join('/usr/share/doc/incap-cert', doc)), doc);
  });

  it('incap-cert install and uninstall refuse what dpkg owns, and say to use apt', () => {
    const uninstall = sh('/usr/bin/incap-cert', ['uninstall', '--prefix', '/usr']);
    assert.equal(uninstall.code, 1);
    assert.match(
      uninstall.stderr,
      /^error: refusing to uninstall: .*\/usr\/bin\/incap-cert.*Debian package incap-cert; remove it with: apt remove incap-cert/,
    );
    const install = sh('/usr/bin/incap-cert', ['install', '--cron']);
    assert.equal(install.code, 1);
    assert.match(
      install.stderr,
      /^error: refusing to install: \/etc\/letsencrypt\/renewal-hooks\/deploy\/incap-cert belongs to the Debian package/,
    );
    assert.ok(exists('/usr/bin/incap-cert') && exists('/etc/letsencrypt/renewal-hooks/deploy/incap-cert'));
    assert.ok(!exists('/usr/local/bin/incap-cert') && !exists('/etc/cron.d/incap-cert'));
  });

  let configDir: string;
  it('Certbot renews with the packaged drop-in: one site gets the certificate, the failing one is queued', async () => {
    configDir = join(work, 'letsencrypt');
    const live = join(configDir, 'live');
    writeSystemConfig({ 'p.example.com': 201, 'q.example.com': 999 }, live);
    const created = await certbot(configDir, [
      'certonly',
      '--standalone',
      '-d',
      'p.example.com',
      '-d',
      'q.example.com',
    ]);
    assert.equal(created.code, 0, output(created));
    // The packaged drop-in, where Certbot looks for it under this config folder.
    mkdirSync(join(configDir, 'renewal-hooks', 'deploy'), { recursive: true });
    symlinkSync(
      '/etc/letsencrypt/renewal-hooks/deploy/incap-cert',
      join(configDir, 'renewal-hooks', 'deploy', 'incap-cert'),
    );

    const renewed = await certbot(configDir, ['renew', '--force-renewal']);
    assert.equal(renewed.code, 0, output(renewed));
    assert.match(
      output(renewed),
      /uploaded p\.example\.com, q\.example\.com → site 201|uploaded .*→ site 201/,
    );
    assert.match(output(renewed), /Hook 'deploy-hook' reported error code 1/, 'site 999 failed');
    const cert = join(live, 'p.example.com', 'cert.pem');
    assert.equal(fake.serving('201')?.fingerprint, fingerprint(cert));
    const queue = JSON.parse(readFileSync('/var/lib/incap-cert/queue.json', 'utf8')) as {
      entries: { siteId: string }[];
    };
    assert.deepEqual(
      queue.entries.map((entry) => entry.siteId),
      ['999'],
    );
    assertNoSecrets(
      { certbot: output(renewed), log: readFileSync(join(work, 'certbot-logs', 'letsencrypt.log'), 'utf8') },
      secretsOf(apiKey),
    );
  });

  it('dpkg -r removes the program and keeps the config and the queue', () => {
    const removed = dpkg('-r', 'incap-cert');
    assert.equal(removed.code, 0, output(removed));
    assert.equal(packageState(), 'rc');
    for (const path of PACKAGE_FILES) assert.ok(!exists(path), `${path} is gone`);
    assert.equal(mode('/etc/incap-cert/config.json'), 0o600);
    assert.match(
      readFileSync('/etc/incap-cert/config.json', 'utf8'),
      new RegExp(fake.url.replaceAll('.', '\\.')),
    );
    assert.ok(existsSync('/var/lib/incap-cert/queue.json'));
  });

  it('dpkg --purge removes the config, and keeps the state folder while its queue is not empty (saying so)', () => {
    const purged = dpkg('--purge', 'incap-cert');
    assert.equal(purged.code, 0, output(purged));
    assert.equal(packageState(), 'not-installed');
    assert.ok(!exists('/etc/incap-cert'), 'the config is gone');
    assert.ok(!exists('/etc/logrotate.d/incap-cert'), 'the logrotate conffile is gone');
    assert.match(
      output(purged),
      /kept \/var\/lib\/incap-cert: its queue .* holds certificates not yet delivered to Imperva/,
    );
    assert.deepEqual(
      (
        JSON.parse(readFileSync('/var/lib/incap-cert/queue.json', 'utf8')) as {
          entries: { siteId: string }[];
        }
      ).entries.map((entry) => entry.siteId),
      ['999'],
    );
    for (const path of [
      ...PACKAGE_FILES,
      '/etc/systemd/system/timers.target.wants/incap-cert-sync.timer',
      '/etc/systemd/system/incap-cert-sync.timer',
    ]) {
      assert.ok(!exists(path), `${path} is gone`);
    }
  });

  it('installed again, sync delivers the queue; then purging leaves nothing at all', async () => {
    const installed = dpkg('-i', DEB.amd64);
    assert.equal(installed.code, 0, output(installed));
    assert.ok(existsSync('/etc/incap-cert/config.json'), 'a fresh config template');
    writeSystemConfig({ 'p.example.com': 201, 'q.example.com': 999 }, join(configDir, 'live'));
    fake.addSite('999', 'q.example.com'); // the account has the site now
    const synced = await runCommand('/usr/bin/incap-cert', ['sync'], { PATH });
    assert.equal(synced.code, 0, output(synced));
    const queue = JSON.parse(readFileSync('/var/lib/incap-cert/queue.json', 'utf8')) as {
      entries: unknown[];
    };
    assert.deepEqual(queue.entries, []);

    const purged = dpkg('--purge', 'incap-cert');
    assert.equal(purged.code, 0, output(purged));
    assert.doesNotMatch(output(purged), /kept/);
    for (const path of [
      ...PACKAGE_FILES,
      '/etc/incap-cert',
      '/var/lib/incap-cert',
      '/var/log/incap-cert.log',
      '/etc/systemd/system/timers.target.wants/incap-cert-sync.timer',
      '/etc/systemd/system/incap-cert-sync.timer',
    ]) {
      assert.ok(!exists(path), `${path} is gone`);
    }
  });

  it('beside a by-hand cron line: says so, and leaves the timer disabled (never two daily syncs)', () => {
    const cron = '/etc/cron.d/incap-cert';
    writeFileSync(cron, '17 3 * * * root /usr/local/bin/incap-cert sync\n', { mode: 0o644 });
    try {
      const installed = dpkg('-i', DEB.amd64);
      assert.equal(installed.code, 0, output(installed));
      assert.match(output(installed), /\/etc\/cron\.d\/incap-cert comes from an install by hand/);
      assert.match(output(installed), /incap-cert-sync\.timer is left disabled/);
      assert.ok(
        !exists('/etc/systemd/system/timers.target.wants/incap-cert-sync.timer'),
        'the timer is not enabled',
      );
    } finally {
      dpkg('--purge', 'incap-cert');
      rmSync(cron, { force: true });
    }
  });
});

describe('arm64 under qemu-aarch64-static', () => {
  it('the executable, and the one in the arm64 package, say their version', async () => {
    const said = await runCommand(QEMU_BIN, [ARM64, '--version'], { ...QEMU, PATH: '' });
    assert.deepEqual([said.code, said.stdout, said.stderr], [0, `incap-cert ${version}\n`, '']);
    assert.equal(readFileSync(ARM64).readUInt16LE(18), 183, 'an ELF for aarch64 (EM_AARCH64)');

    assert.equal(sh('dpkg-deb', ['-f', DEB.arm64, 'Architecture']).stdout.trim(), 'arm64');
    const unpacked = join(work, 'arm64-deb');
    assert.equal(sh('dpkg-deb', ['-x', DEB.arm64, unpacked]).code, 0);
    const packaged = await runCommand(QEMU_BIN, [join(unpacked, 'usr/bin/incap-cert'), '--version'], {
      ...QEMU,
      PATH: '',
    });
    assert.deepEqual([packaged.code, packaged.stdout], [0, `incap-cert ${version}\n`]);
  });

  it('uploads a Certbot lineage to the fake Imperva API', async () => {
    const leaf = await issueLeaf(await createPki(), { names: ['arm.example.com'] });
    const dir = join(work, 'arm64');
    mkdirSync(dir, { mode: 0o700 });
    const lineage = writeCertbotLineage(join(dir, 'le'), 'arm.example.com', leaf);
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        api: { id: API_ID, key: apiKey, baseUrl: fake.url },
        sites: { 'arm.example.com': 301 },
        stateDir: join(dir, 'state'),
      }),
      { mode: 0o600 },
    );
    chmodSync(join(dir, 'config.json'), 0o600);
    const result = await runCommand(QEMU_BIN, [ARM64, 'deploy'], {
      ...QEMU,
      PATH: '',
      RENEWED_LINEAGE: lineage,
      INCAP_CERT_CONFIG: join(dir, 'config.json'),
    });
    assert.equal(result.code, 0, output(result));
    assert.equal(result.stdout, 'uploaded arm.example.com → site 301\n');
    assert.equal(fake.serving('301')?.fingerprint, leaf.fingerprint);
    assert.equal(fake.serving('301')?.authType, 'ECC');
  });
});
