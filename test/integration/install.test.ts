/**
 * scripts/install.sh (now a thin wrapper of `incap-cert install`) under a temporary root: every file and mode,
 * idempotence, --prefix, --uninstall.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { ROOT, runCommand, tempDir as newTempDir } from '../support/harness.js';
import { VERSION } from '../../src/util/version.js';

const INSTALL = join(ROOT, 'scripts', 'install.sh');

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = newTempDir();
  made.push(dir);
  return dir;
}

function stub(): string {
  const file = join(tempDir(), 'incap-cert-linux-x64');
  writeFileSync(file, `#!/bin/sh\necho 'incap-cert ${VERSION}' # stub\n`, { mode: 0o755 });
  return file;
}

/** Every file and folder under root, as `mode path`. */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      out.push(
        `${(statSync(path).mode & 0o777).toString(8)} ${relative(root, path)}${entry.isDirectory() ? '/' : ''}`,
      );
      if (entry.isDirectory()) walk(path);
    }
  };
  walk(root);
  return out.sort((a, b) => a.split(' ')[1]!.localeCompare(b.split(' ')[1]!));
}

const install = (...args: string[]) => runCommand('bash', [INSTALL, ...args]);

const FILES = [
  '600 etc/incap-cert/config.json',
  '755 etc/letsencrypt/renewal-hooks/deploy/incap-cert',
  '755 usr/local/bin/incap-cert',
  '755 usr/local/share/incap-cert/hooks/acme.sh/incap_cert.sh',
  '755 usr/local/share/incap-cert/hooks/dehydrated-hook.sh',
  '700 etc/incap-cert/',
  '700 var/lib/incap-cert/',
];

describe('scripts/install.sh', () => {
  it('installs every file with its mode, and a config template that loads', async () => {
    const root = tempDir();
    const binary = stub();
    const result = await install('--destdir', root, '--binary', binary, '--cron');
    assert.equal(result.code, 0, result.stderr);
    const files = tree(root);
    for (const file of [...FILES, '644 etc/cron.d/incap-cert'])
      assert.ok(files.includes(file), `${file} in\n${files.join('\n')}`);
    assert.ok(!files.some((file) => file.includes('systemd')));
    assert.equal(readFileSync(join(root, 'usr/local/bin/incap-cert'), 'utf8'), readFileSync(binary, 'utf8'));
    assert.equal(
      readFileSync(join(root, 'etc/letsencrypt/renewal-hooks/deploy/incap-cert'), 'utf8'),
      readFileSync(join(ROOT, 'hooks/certbot-deploy.sh'), 'utf8'),
    );
    assert.match(
      readFileSync(join(root, 'etc/cron.d/incap-cert'), 'utf8'),
      /^17 4 \* \* \* root \/usr\/local\/bin\/incap-cert sync > \/dev\/null$/m,
    );
    const config = loadConfig({ config: join(root, 'etc/incap-cert/config.json') }, {});
    assert.equal(config.api.baseUrl, 'https://my.imperva.com');
    assert.deepEqual(
      [...config.sites.keys()],
      ['your-domain.example', 'www.your-domain.example', '*.your-other-domain.example'],
    );
    assert.deepEqual([config.retry.attempts, config.concurrency], [4, 8]);
  });

  it('is idempotent and never overwrites the config', async () => {
    const root = tempDir();
    const binary = stub();
    assert.equal((await install('--destdir', root, '--binary', binary, '--cron')).code, 0);
    const edited = '{"api": {"id": "1", "key": "mine"}, "sites": {}}';
    writeFileSync(join(root, 'etc/incap-cert/config.json'), edited);
    const before = tree(root);
    const again = await install('--destdir', root, '--binary', binary, '--cron');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /kept the existing .*config\.json/);
    assert.equal(readFileSync(join(root, 'etc/incap-cert/config.json'), 'utf8'), edited);
    assert.deepEqual(tree(root), before);
  });

  it('writes the systemd timer instead of the cron line, with the prefix it was given', async () => {
    const root = tempDir();
    assert.equal(
      (await install('--destdir', root, '--binary', stub(), '--cron', '--prefix', '/opt/ic')).code,
      0,
    );
    const result = await install('--destdir', root, '--binary', stub(), '--systemd', '--prefix', '/opt/ic');
    assert.equal(result.code, 0, result.stderr);
    const files = tree(root);
    for (const file of [
      '644 etc/systemd/system/incap-cert-sync.service',
      '644 etc/systemd/system/incap-cert-sync.timer',
      '755 opt/ic/bin/incap-cert',
    ]) {
      assert.ok(files.includes(file), `${file} in\n${files.join('\n')}`);
    }
    assert.ok(
      !files.some((file) => file.includes('cron.d/incap-cert')),
      'the cron line gave way to the timer',
    );
    assert.match(
      readFileSync(join(root, 'etc/systemd/system/incap-cert-sync.service'), 'utf8'),
      /^ExecStart=\/opt\/ic\/bin\/incap-cert sync$/m,
    );
    assert.match(
      readFileSync(join(root, 'etc/systemd/system/incap-cert-sync.timer'), 'utf8'),
      /^OnCalendar=daily$/m,
    );
    // The hooks name the prefix once, in a line the installer rewrites; ${INCAP_CERT_PREFIX:-…} reads it.
    assert.match(
      readFileSync(join(root, 'etc/letsencrypt/renewal-hooks/deploy/incap-cert'), 'utf8'),
      /^incap_cert_prefix='\/opt\/ic'$[^]*"\$\{INCAP_CERT_PREFIX:-\$incap_cert_prefix\}\/bin\/incap-cert"/m,
    );
    assert.match(
      readFileSync(join(root, 'opt/ic/share/incap-cert/hooks/dehydrated-hook.sh'), 'utf8'),
      /^incap_cert_prefix='\/opt\/ic'$/m,
    );
  });

  it('--uninstall removes what it installed and keeps the config and the state folder', async () => {
    const root = tempDir();
    assert.equal((await install('--destdir', root, '--binary', stub(), '--systemd')).code, 0);
    const result = await install('--destdir', root, '--uninstall');
    assert.equal(result.code, 0, result.stderr);
    const files = tree(root).filter((file) => !file.endsWith('/'));
    assert.deepEqual(files, ['600 etc/incap-cert/config.json']);
    assert.ok(tree(root).includes('700 var/lib/incap-cert/'));
    assert.match(result.stdout, /kept .*config\.json and .*var\/lib\/incap-cert/);
    assert.equal((await install('--destdir', root, '--uninstall')).code, 0, 'uninstalling twice is fine');
  });

  it('refuses to install without an executable, saying how to make one', async () => {
    const root = tempDir();
    const result = await install('--destdir', root, '--binary', join(root, 'nope'));
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /no executable at .*nope: run 'npm run package' first, or name one with --binary/,
    );
    assert.deepEqual(tree(root), []);
  });
});
