/**
 * Issue 18, "install and uninstall touch only their own files", through the built CLI under a temporary root:
 * install records what it wrote (PREFIX/share/incap-cert/installed.json); uninstall removes only those files while
 * they are unchanged, never a folder with what is in it, and with no record only files byte for byte as install
 * writes them for that prefix; a prefix with nothing installed removes nothing and says so; nothing is written or
 * removed through a symbolic link on the way.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { parseStrictJson } from '../../src/util/strict-json.js';
import { CLI, runCommand, tempDir } from '../support/harness.js';
import { VERSION } from '../../src/util/version.js';

const cli = (...args: string[]) => runCommand(process.execPath, [CLI, ...args]);

function binary(text = 'one'): string {
  const file = join(tempDir(), 'incap-cert-linux-x64');
  writeFileSync(file, `#!/bin/sh\necho 'incap-cert ${VERSION}' # ${text}\n`, { mode: 0o755 });
  return file;
}

/** Every entry under root with its content (files) or target (links): what "nothing changed" compares. */
function snapshot(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      const name = relative(root, path);
      if (entry.isSymbolicLink()) out.push(`${name} -> ${readlinkSync(path)}`);
      else if (entry.isDirectory()) {
        out.push(`${name}/`);
        walk(path);
      } else out.push(`${(statSync(path).mode & 0o777).toString(8)} ${name} ${readFileSync(path, 'hex')}`);
    }
  };
  walk(root);
  return out.sort();
}

function files(root: string): string[] {
  return snapshot(root)
    .filter((entry) => !entry.endsWith('/'))
    .map((entry) => entry.split(' ')[1]!);
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

async function installed(root: string, ...args: string[]): Promise<void> {
  const result = await cli('install', '--destdir', root, '--binary', binary(), ...args);
  assert.equal(result.code, 0, result.stderr);
}

const DROPIN = 'etc/letsencrypt/renewal-hooks/deploy/incap-cert';
const RECORD = 'usr/local/share/incap-cert/installed.json';

describe('uninstall of a prefix with nothing installed', () => {
  for (const timer of ['--cron', '--systemd']) {
    it(`removes nothing of another install (${timer.slice(2)}), and says so in one line`, async () => {
      const root = tempDir();
      await installed(root, timer);
      const before = snapshot(root);
      const result = await cli('uninstall', '--destdir', root, '--prefix', '/opt/never');
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '');
      assert.equal(result.stdout.trim().split('\n').length, 1, result.stdout);
      assert.match(result.stdout, /^removed nothing: no incap-cert is installed with prefix \/opt\/never /);
      assert.deepEqual(
        snapshot(root),
        before,
        "the other install's drop-in, timer or cron line are all there",
      );
    });
  }

  it('never removes a folder with what is in it, at the executable or under the prefix', async () => {
    const root = tempDir();
    for (const folder of ['usr/local/bin/incap-cert', 'usr/local/share/incap-cert/hooks']) {
      mkdirSync(join(root, folder), { recursive: true });
      writeFileSync(join(root, folder, 'precious'), 'mine\n');
    }
    const before = snapshot(root);
    const result = await cli('uninstall', '--destdir', root);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout.trim().split('\n').length, 1, result.stdout);
    assert.match(
      result.stdout,
      /^removed nothing: there is no install record for prefix \/usr\/local, and \S+\/usr\/local\/bin\/incap-cert is not as install writes it;/,
    );
    assert.deepEqual(snapshot(root), before);
  });
});

describe('install records what it wrote', () => {
  it('in PREFIX/share/incap-cert/installed.json: each file with the SHA-256 of its content, and the folders it made', async () => {
    const root = tempDir();
    await installed(root, '--cron', '--prefix', '/opt/ic');
    const record = join(root, 'opt/ic/share/incap-cert/installed.json');
    assert.equal(statSync(record).mode & 0o777, 0o644);
    const parsed = parseStrictJson(readFileSync(record, 'utf8')) as {
      format: number;
      prefix: string;
      files: { path: string; sha256: string }[];
      folders: string[];
    };
    assert.equal(parsed.format, 1);
    assert.equal(parsed.prefix, '/opt/ic');
    assert.deepEqual(parsed.files.map((file) => file.path).sort(), [
      // Another prefix than /usr and /usr/local: bash-completion reads /etc/bash_completion.d/ only.
      '/etc/bash_completion.d/incap-cert',
      '/etc/cron.d/incap-cert',
      `/${DROPIN}`,
      '/etc/logrotate.d/incap-cert',
      '/opt/ic/bin/incap-cert',
      '/opt/ic/share/doc/incap-cert/README.md',
      '/opt/ic/share/doc/incap-cert/docs/acme-clients.md',
      '/opt/ic/share/doc/incap-cert/docs/canary.md',
      '/opt/ic/share/doc/incap-cert/docs/config.md',
      '/opt/ic/share/doc/incap-cert/docs/development.md',
      '/opt/ic/share/doc/incap-cert/docs/imperva-api.md',
      '/opt/ic/share/doc/incap-cert/docs/install.md',
      '/opt/ic/share/doc/incap-cert/docs/operations.md',
      '/opt/ic/share/doc/incap-cert/docs/performance.md',
      '/opt/ic/share/doc/incap-cert/docs/security.md',
      '/opt/ic/share/incap-cert/hooks/acme.sh/incap_cert.sh',
      '/opt/ic/share/incap-cert/hooks/dehydrated-hook.sh',
      '/opt/ic/share/man/man1/incap-cert.1',
      '/opt/ic/share/man/man5/incap-cert-config.5',
    ]);
    for (const file of parsed.files) assert.equal(file.sha256, sha256(join(root, file.path)), file.path);
    for (const folder of ['/opt/ic', '/opt/ic/share/incap-cert', '/etc/cron.d', '/etc/letsencrypt']) {
      assert.ok(parsed.folders.includes(folder), `${folder} in ${parsed.folders.join(' ')}`);
    }
    assert.ok(!parsed.folders.includes('/etc/incap-cert') && !parsed.folders.includes('/var/lib/incap-cert'));
  });

  it('--dry-run writes no record either', async () => {
    const root = tempDir();
    const result = await cli('install', '--dry-run', '--destdir', root, '--binary', binary(), '--cron');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^would write .*\/usr\/local\/share\/incap-cert\/installed\.json \(0644\)$/m);
    assert.deepEqual(readdirSync(root), []);
  });
});

describe('uninstall removes only what install wrote and is unchanged', () => {
  it('keeps and names a file changed since install, and removes the rest and the folders it made', async () => {
    const root = tempDir();
    await installed(root, '--cron', '--prefix', '/opt/ic');
    appendFileSync(join(root, DROPIN), '# my change\n');
    const changed = readFileSync(join(root, DROPIN), 'utf8');
    const result = await cli('uninstall', '--destdir', root, '--prefix', '/opt/ic');
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      new RegExp(`^kept ${join(root, DROPIN)} \\(changed since install wrote it; remove it by hand`, 'm'),
    );
    assert.match(result.stdout, /^removed .*\/opt\/ic\/bin\/incap-cert$/m);
    assert.deepEqual(files(root), ['etc/incap-cert/config.json', DROPIN]);
    assert.equal(readFileSync(join(root, DROPIN), 'utf8'), changed);
    assert.ok(!existsSync(join(root, 'opt')), 'the folders it made, empty now, are gone');
    assert.ok(!existsSync(join(root, 'etc/cron.d')));
    assert.ok(existsSync(join(root, 'var/lib/incap-cert')), 'the state folder stays');
  });

  it('keeps a folder put where the executable was, with what is in it', async () => {
    const root = tempDir();
    await installed(root, '--systemd');
    rmSync(join(root, 'usr/local/bin/incap-cert'));
    mkdirSync(join(root, 'usr/local/bin/incap-cert'));
    writeFileSync(join(root, 'usr/local/bin/incap-cert/precious'), 'mine\n');
    const result = await cli('uninstall', '--destdir', root);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^kept .*\/usr\/local\/bin\/incap-cert \(not a regular file/m);
    assert.equal(readFileSync(join(root, 'usr/local/bin/incap-cert/precious'), 'utf8'), 'mine\n');
    assert.deepEqual(files(root), ['etc/incap-cert/config.json', 'usr/local/bin/incap-cert/precious']);
  });

  it('without a record (an older install), removes only files byte for byte as install writes them', async () => {
    const root = tempDir();
    await installed(root, '--systemd');
    rmSync(join(root, RECORD));
    const hook = 'usr/local/share/incap-cert/hooks/dehydrated-hook.sh';
    appendFileSync(join(root, hook), '# my change\n');
    const result = await cli('uninstall', '--destdir', root);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^kept ${join(root, hook)} \\(not what install writes`, 'm'));
    // The stand-in executable is not the one install would copy: it stays, named.
    assert.match(result.stdout, /^kept .*\/usr\/local\/bin\/incap-cert \(not what install writes/m);
    // The logrotate file is the same for every prefix: without a record, nothing says it is this prefix's.
    assert.deepEqual(files(root), [
      'etc/incap-cert/config.json',
      'etc/logrotate.d/incap-cert',
      'usr/local/bin/incap-cert',
      hook,
    ]);
  });

  it('--dry-run says what it would remove and keep, and changes nothing', async () => {
    const root = tempDir();
    await installed(root, '--cron');
    appendFileSync(join(root, 'etc/cron.d/incap-cert'), '# mine\n');
    const before = snapshot(root);
    const result = await cli('uninstall', '--dry-run', '--destdir', root);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^would remove .*\/usr\/local\/bin\/incap-cert$/m);
    assert.match(result.stdout, /^would remove .*\/installed\.json$/m);
    assert.match(result.stdout, /^would keep .*\/etc\/cron\.d\/incap-cert \(changed since install/m);
    assert.deepEqual(snapshot(root), before);
  });

  it('switching the timer elsewhere leaves another install’s units, named', async () => {
    const root = tempDir();
    await installed(root, '--systemd', '--prefix', '/opt/a');
    const result = await cli(
      'install',
      '--destdir',
      root,
      '--binary',
      binary(),
      '--cron',
      '--prefix',
      '/opt/b',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^kept .*incap-cert-sync\.service \(not what install writes/m);
    assert.match(result.stdout, /^kept .*incap-cert-sync\.timer \(the timer of incap-cert-sync\.service/m);
    assert.match(
      readFileSync(join(root, 'etc/systemd/system/incap-cert-sync.service'), 'utf8'),
      /\/opt\/a\//,
    );
  });
});

describe('an install record it cannot trust', () => {
  const cases: [string, (record: string, root: string) => void, RegExp][] = [
    [
      'a symbolic link',
      (record, root) => {
        writeFileSync(join(root, 'elsewhere.json'), readFileSync(record));
        rmSync(record);
        symlinkSync(join(root, 'elsewhere.json'), record);
      },
      /it is a symbolic link/,
    ],
    [
      'writable by others',
      (record) => chmodSync(record, 0o666),
      /it cannot be trusted: .*writable by group or others/,
    ],
    [
      'larger than the bound',
      (record) => writeFileSync(record, `{"format": 1, "pad": "${'x'.repeat(2 * 1024 * 1024)}"}`),
      /it is larger than 1 MiB/,
    ],
    [
      'with a duplicate key',
      (record) =>
        writeFileSync(
          record,
          '{"format": 1, "format": 1, "prefix": "/usr/local", "files": [], "folders": []}',
        ),
      /it is not valid JSON: appears more than once/,
    ],
    [
      'of another shape',
      (record) =>
        writeFileSync(
          record,
          '{"format": 1, "prefix": "/usr/local", "files": [{"path": "x"}], "folders": []}',
        ),
      /it is not an install record: files\.0\.path/,
    ],
  ];
  for (const [what, spoil, message] of cases) {
    it(`refuses one ${what} (exit 2), removing nothing`, async () => {
      const root = tempDir();
      await installed(root, '--cron');
      spoil(join(root, RECORD), root);
      const before = snapshot(root);
      const result = await cli('uninstall', '--destdir', root);
      assert.equal(result.code, 2, result.stdout);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, /^error: refusing the install record .*installed\.json: /);
      assert.match(result.stderr, message);
      assert.deepEqual(snapshot(root), before);
    });
  }

  it('removes no file the record names that incap-cert never installs', async () => {
    const root = tempDir();
    await installed(root, '--cron');
    const victim = join(root, 'etc/hostname');
    writeFileSync(victim, 'host\n');
    const record = JSON.parse(readFileSync(join(root, RECORD), 'utf8')) as { files: object[] };
    record.files.push({ path: '/etc/hostname', sha256: sha256(victim) });
    writeFileSync(join(root, RECORD), JSON.stringify(record));
    const result = await cli('uninstall', '--destdir', root);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^kept .*\/etc\/hostname \(named by the install record, but not a file incap-cert installs\)$/m,
    );
    assert.equal(readFileSync(victim, 'utf8'), 'host\n');
  });
});

describe('no symbolic link on the way is written through', () => {
  for (const [folder, args] of [
    ['etc/letsencrypt', []],
    ['etc/cron.d', []],
    ['usr/local', []],
    ['usr/local/share', []],
    ['opt', ['--prefix', '/opt/ic']],
  ] as const) {
    it(`install --destdir refuses a link at ${folder} (exit 2), writing nothing`, async () => {
      const root = tempDir();
      const elsewhere = tempDir();
      mkdirSync(join(root, folder, '..'), { recursive: true });
      symlinkSync(elsewhere, join(root, folder));
      const before = snapshot(root);
      const result = await cli('install', '--destdir', root, '--binary', binary(), '--cron', ...args);
      assert.equal(result.code, 2, result.stdout);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(
        result.stderr,
        new RegExp(`^error: ${join(root, folder)} is a symbolic link to ${elsewhere}, outside --destdir`),
      );
      assert.deepEqual(readdirSync(elsewhere), [], 'nothing written through the link');
      assert.deepEqual(snapshot(root), before, 'nothing written at all');
    });
  }

  it('uninstall refuses a link on the way too, removing nothing through it', async () => {
    const root = tempDir();
    await installed(root, '--cron');
    const elsewhere = tempDir();
    renameSync(join(root, 'etc/cron.d'), join(elsewhere, 'cron.d'));
    symlinkSync(join(elsewhere, 'cron.d'), join(root, 'etc/cron.d'));
    const result = await cli('uninstall', '--destdir', root);
    assert.equal(result.code, 2, result.stdout);
    assert.match(result.stderr, /^error: .*\/etc\/cron\.d is a symbolic link to .*, outside --destdir/);
    assert.deepEqual(readdirSync(join(elsewhere, 'cron.d')), ['incap-cert']);
    assert.ok(existsSync(join(root, 'usr/local/bin/incap-cert')), 'nothing removed');
  });

  it(
    'follows a link that root owns with its target, inside --destdir (merged /usr, /etc/letsencrypt on a volume)',
    { skip: process.getuid?.() !== 0 && 'the link and its target must be root’s: run as root' },
    async () => {
      const root = tempDir();
      mkdirSync(join(root, 'data/letsencrypt'), { recursive: true, mode: 0o755 });
      mkdirSync(join(root, 'etc'), { mode: 0o755 });
      symlinkSync('../data/letsencrypt', join(root, 'etc/letsencrypt'));
      await installed(root, '--cron');
      assert.ok(existsSync(join(root, 'data/letsencrypt/renewal-hooks/deploy/incap-cert')));
      const removed = await cli('uninstall', '--destdir', root);
      assert.equal(removed.code, 0, removed.stderr);
      assert.ok(!existsSync(join(root, 'data/letsencrypt/renewal-hooks/deploy/incap-cert')));
      assert.equal(readlinkSync(join(root, 'etc/letsencrypt')), '../data/letsencrypt', 'the link stays');
    },
  );
});
