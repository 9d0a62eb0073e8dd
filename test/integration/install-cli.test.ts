/**
 * `incap-cert install` / `uninstall` (node dist/cli.cjs) under a temporary root: what they refuse — a symbolic link
 * at a destination, files the Debian package owns — and how they write: the executable replaced in one rename (a
 * running copy keeps its file), no temporary file left, the config never overwritten, the timer kind switched.
 */
import assert from 'node:assert/strict';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  readSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { CLI, runCommand } from '../support/harness.js';
import { VERSION } from '../../src/util/version.js';

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'incap-cert-install-'));
  made.push(dir);
  return dir;
}

function binary(text = 'one'): string {
  const file = join(temp(), 'incap-cert-linux-x64');
  writeFileSync(file, `#!/bin/sh\necho 'incap-cert ${VERSION}' # ${text}\n`, { mode: 0o755 });
  return file;
}

const cli = (...args: string[]) => runCommand(process.execPath, [CLI, ...args]);

/** Every entry under root, links shown with their target. */
function tree(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isSymbolicLink()) out.push(`${relative(root, path)} -> ${readlinkSync(path)}`);
      else if (entry.isDirectory()) {
        out.push(`${relative(root, path)}/`);
        walk(path);
      } else out.push(`${(statSync(path).mode & 0o777).toString(8)} ${relative(root, path)}`);
    }
  };
  walk(root);
  return out.sort();
}

function assertOneLine(result: { stdout: string; stderr: string }, pattern: RegExp): void {
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  assert.match(result.stderr, pattern);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
}

describe('incap-cert install / uninstall', () => {
  it('installs with the documented modes, and uninstall leaves only the config and the state folder', async () => {
    const root = temp();
    const result = await cli('install', '--destdir', root, '--binary', binary(), '--systemd');
    assert.equal(result.code, 0, result.stderr);
    const files = tree(root).filter((entry) => !entry.endsWith('/'));
    assert.deepEqual(files, [
      '600 etc/incap-cert/config.json',
      '644 etc/logrotate.d/incap-cert',
      '644 etc/systemd/system/incap-cert-sync.service',
      '644 etc/systemd/system/incap-cert-sync.timer',
      '644 usr/local/share/bash-completion/completions/incap-cert',
      '644 usr/local/share/doc/incap-cert/README.md',
      '644 usr/local/share/doc/incap-cert/docs/acme-clients.md',
      '644 usr/local/share/doc/incap-cert/docs/canary.md',
      '644 usr/local/share/doc/incap-cert/docs/config.md',
      '644 usr/local/share/doc/incap-cert/docs/development.md',
      '644 usr/local/share/doc/incap-cert/docs/imperva-api.md',
      '644 usr/local/share/doc/incap-cert/docs/install.md',
      '644 usr/local/share/doc/incap-cert/docs/operations.md',
      '644 usr/local/share/doc/incap-cert/docs/performance.md',
      '644 usr/local/share/doc/incap-cert/docs/security.md',
      '644 usr/local/share/incap-cert/installed.json',
      '644 usr/local/share/man/man1/incap-cert.1',
      '644 usr/local/share/man/man5/incap-cert-config.5',
      '755 etc/letsencrypt/renewal-hooks/deploy/incap-cert',
      '755 usr/local/bin/incap-cert',
      '755 usr/local/share/incap-cert/hooks/acme.sh/incap_cert.sh',
      '755 usr/local/share/incap-cert/hooks/dehydrated-hook.sh',
    ]);
    for (const [dir, mode] of [
      ['etc', 0o755],
      ['etc/incap-cert', 0o700],
      ['var', 0o755],
      ['var/lib', 0o755],
      ['var/lib/incap-cert', 0o700],
      ['usr/local/share/incap-cert', 0o755],
    ] as const) {
      assert.equal(statSync(join(root, dir)).mode & 0o777, mode, dir);
    }
    assert.match(result.stdout, /^wrote .*\/usr\/local\/bin\/incap-cert \(0755\)$/m);
    assert.match(result.stdout, /^wrote .*\/etc\/incap-cert\/config\.json \(0600\): set api\.id/m);

    const removed = await cli('uninstall', '--destdir', root);
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(
      tree(root).filter((entry) => !entry.endsWith('/')),
      ['600 etc/incap-cert/config.json'],
    );
    assert.ok(tree(root).includes('var/lib/incap-cert/'));
    assert.match(removed.stdout, /^kept .*config\.json and .*var\/lib\/incap-cert \(queued uploads\)/m);
  });

  it('replaces the executable in one rename: a running copy keeps its file, and no temporary file is left', async () => {
    const root = temp();
    assert.equal((await cli('install', '--destdir', root, '--binary', binary('one'), '--cron')).code, 0);
    const installed = join(root, 'usr/local/bin/incap-cert');
    const before = statSync(installed).ino;
    const running = openSync(installed, 'r'); // as a running process holds its executable
    try {
      const again = await cli('install', '--destdir', root, '--binary', binary('two'), '--cron');
      assert.equal(again.code, 0, again.stderr);
      const buffer = Buffer.alloc(64);
      const read = readSync(running, buffer, 0, 64, 0);
      assert.equal(
        buffer.subarray(0, read).toString(),
        `#!/bin/sh\necho 'incap-cert ${VERSION}' # one\n`,
        'the old file is untouched',
      );
    } finally {
      closeSync(running);
    }
    assert.equal(readFileSync(installed, 'utf8'), `#!/bin/sh\necho 'incap-cert ${VERSION}' # two\n`);
    assert.notEqual(statSync(installed).ino, before, 'a new file, renamed into place');
    assert.deepEqual(
      tree(root).filter((entry) => entry.includes('.incap-cert-')),
      [],
      'no temporary file left',
    );
  });

  for (const [what, path] of [
    ['the executable', 'usr/local/bin/incap-cert'],
    ["Certbot's drop-in", 'etc/letsencrypt/renewal-hooks/deploy/incap-cert'],
    ['the cron line', 'etc/cron.d/incap-cert'],
    ['a hook', 'usr/local/share/incap-cert/hooks/dehydrated-hook.sh'],
  ] as const) {
    it(`refuses a symbolic link at ${what}, and writes nothing at all`, async () => {
      const root = temp();
      const victim = join(temp(), 'victim');
      writeFileSync(victim, 'precious\n');
      mkdirSync(join(root, path, '..'), { recursive: true });
      symlinkSync(victim, join(root, path));
      const before = tree(root);
      const result = await cli('install', '--destdir', root, '--binary', binary(), '--cron');
      assert.equal(result.code, 2, result.stdout);
      assertOneLine(result, new RegExp(`^error: ${join(root, path)} is a symbolic link; .*remove it first`));
      assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
      assert.deepEqual(tree(root), before, 'nothing written');
    });
  }

  for (const folder of ['etc/incap-cert', 'var/lib/incap-cert', 'usr/local/share/incap-cert']) {
    it(`refuses a symbolic link in place of its folder ${folder}`, async () => {
      const root = temp();
      const elsewhere = temp();
      mkdirSync(join(root, folder, '..'), { recursive: true });
      symlinkSync(elsewhere, join(root, folder));
      const result = await cli('install', '--destdir', root, '--binary', binary(), '--cron');
      assert.equal(result.code, 2, result.stdout);
      assertOneLine(result, /is a symbolic link/);
      assert.deepEqual(readdirSync(elsewhere), []);
      assert.equal(statSync(elsewhere).mode & 0o777, 0o700, 'its mode unchanged');
    });
  }

  it('keeps a config that is a symbolic link, writing nothing through it', async () => {
    const root = temp();
    const victim = join(temp(), 'victim.json');
    writeFileSync(victim, '{}\n');
    mkdirSync(join(root, 'etc/incap-cert'), { recursive: true });
    symlinkSync(victim, join(root, 'etc/incap-cert/config.json'));
    const result = await cli('install', '--destdir', root, '--binary', binary(), '--cron');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^kept the existing .*config\.json$/m);
    assert.equal(readFileSync(victim, 'utf8'), '{}\n');
  });

  it('switches between the systemd timer and the cron line', async () => {
    const root = temp();
    assert.equal((await cli('install', '--destdir', root, '--binary', binary(), '--systemd')).code, 0);
    const toCron = await cli('install', '--destdir', root, '--binary', binary(), '--cron');
    assert.equal(toCron.code, 0, toCron.stderr);
    assert.match(toCron.stdout, /^removed .*incap-cert-sync\.timer: cron runs the sync now$/m);
    assert.ok(!tree(root).some((entry) => entry.includes('systemd/system/incap-cert')));
    assert.ok(tree(root).includes('644 etc/cron.d/incap-cert'));
    const both = await cli('install', '--destdir', root, '--systemd', '--cron');
    assert.equal(both.code, 2);
    assertOneLine(both, /--systemd and --cron exclude each other/);
  });

  it('--dry-run says what it would write and writes nothing', async () => {
    const root = temp();
    const result = await cli('install', '--dry-run', '--destdir', root, '--binary', binary(), '--cron');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^would write .*\/usr\/local\/bin\/incap-cert \(0755\)$/m);
    assert.deepEqual(readdirSync(root), []);
  });

  it('says how to make an executable when there is none', async () => {
    const root = temp();
    const result = await cli('install', '--destdir', root, '--binary', join(root, 'nope'));
    assert.equal(result.code, 1);
    assertOneLine(result, /no executable at .*nope: run 'npm run package' first, or name one with --binary/);
    assert.deepEqual(readdirSync(root), []);
  });

  it('says so, in one line, when it may not write', async () => {
    const root = temp();
    mkdirSync(join(root, 'usr'), { recursive: true });
    writeFileSync(join(root, 'usr', 'local'), 'a file where a folder should be');
    const result = await cli('install', '--destdir', root, '--binary', binary(), '--cron');
    assert.equal(result.code, 1, result.stdout);
    assertOneLine(result, /^error: could not .*usr\/local.*: /);
  });
});

describe('what the Debian package installed', () => {
  /** A root where dpkg lists the package's files, as /var/lib/dpkg/info/incap-cert.list does. */
  async function debianRoot(): Promise<string> {
    const root = temp();
    const installed = await cli(
      'install',
      '--destdir',
      root,
      '--prefix',
      '/usr',
      '--binary',
      binary(),
      '--systemd',
    );
    assert.equal(installed.code, 0, installed.stderr);
    mkdirSync(join(root, 'var/lib/dpkg/info'), { recursive: true });
    writeFileSync(
      join(root, 'var/lib/dpkg/info/incap-cert.list'),
      [
        '/.',
        '/etc/incap-cert/config.json',
        '/etc/letsencrypt/renewal-hooks/deploy/incap-cert',
        '/usr/bin/incap-cert',
        '/usr/share/incap-cert',
        '/usr/share/incap-cert/hooks/dehydrated-hook.sh',
        '',
      ].join('\n'),
    );
    return root;
  }

  it('uninstall refuses to remove it, and says to use apt', async () => {
    const root = await debianRoot();
    const before = tree(root);
    const result = await cli('uninstall', '--destdir', root, '--prefix', '/usr');
    assert.equal(result.code, 1, result.stdout);
    assertOneLine(
      result,
      /^error: refusing to uninstall: .*\/usr\/bin\/incap-cert.* belong to the Debian package incap-cert; remove it with: apt remove incap-cert/,
    );
    assert.deepEqual(tree(root), before);
  });

  it('install refuses to overwrite it', async () => {
    const root = await debianRoot();
    const before = tree(root);
    const result = await cli('install', '--destdir', root, '--binary', binary('other'), '--cron');
    assert.equal(result.code, 1, result.stdout);
    assertOneLine(
      result,
      /^error: refusing to install: \/etc\/letsencrypt\/renewal-hooks\/deploy\/incap-cert belongs/,
    );
    assert.deepEqual(tree(root), before);
  });
});
