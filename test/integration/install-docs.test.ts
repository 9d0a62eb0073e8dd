/**
 * What `incap-cert install` puts on the host besides the program (node dist/cli.cjs, under a temporary root): the man
 * pages, the README and docs, the bash completion where bash-completion looks, the logrotate file for the config's
 * log file (only where none is), all in the record so that uninstall takes only its own; the config template without
 * its mail notifier where no mail program exists; and an executable that is not this version, refused.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { VERSION } from '../../src/util/version.js';
import { CLI, runCommand, tempDir } from '../support/harness.js';

const RECORD = (prefix: string) => join(prefix, 'share/incap-cert/installed.json').slice(1);

function stub(body = `echo 'incap-cert ${VERSION}'`): string {
  const file = join(tempDir(), 'incap-cert-linux-x64');
  writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runCommand(process.execPath, [CLI, ...args], env);

/** A root with an executable /usr/bin/mail, as bsd-mailx or mailutils installs it. */
function rootWithMail(): string {
  const root = tempDir();
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  writeFileSync(join(root, 'usr/bin/mail'), '#!/bin/sh\ncat > /dev/null\n', { mode: 0o755 });
  return root;
}

function recorded(root: string, prefix: string): string[] {
  const record = JSON.parse(readFileSync(join(root, RECORD(prefix)), 'utf8')) as {
    files: { path: string }[];
  };
  return record.files.map((file) => file.path);
}

function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name), `${rel}${entry.name}/`);
      else out.push(`${rel}${entry.name}`);
    }
  };
  walk(root, '');
  return out.sort();
}

describe('install puts the documentation on the host', () => {
  for (const [prefix, completion] of [
    ['/usr/local', '/usr/local/share/bash-completion/completions/incap-cert'],
    ['/usr', '/usr/share/bash-completion/completions/incap-cert'],
    ['/opt/ic', '/etc/bash_completion.d/incap-cert'],
  ] as const) {
    it(`prefix ${prefix}: man pages, docs, completion at ${completion}, logrotate; all recorded, all uninstalled`, async () => {
      const root = rootWithMail();
      const result = await cli([
        'install',
        '--destdir',
        root,
        '--prefix',
        prefix,
        '--binary',
        stub(),
        '--cron',
      ]);
      assert.equal(result.code, 0, result.stderr);
      const expected = [
        `${prefix}/share/man/man1/incap-cert.1`,
        `${prefix}/share/man/man5/incap-cert-config.5`,
        `${prefix}/share/doc/incap-cert/README.md`,
        `${prefix}/share/doc/incap-cert/docs/config.md`,
        completion,
        '/etc/logrotate.d/incap-cert',
      ];
      const inRecord = recorded(root, prefix);
      for (const path of expected) {
        assert.ok(existsSync(join(root, path)), path);
        assert.ok(inRecord.includes(path), `${path} in the record`);
        assert.match(result.stdout, new RegExp(`^wrote ${join(root, path)} \\(0644\\)$`, 'm'));
      }
      assert.equal(
        readFileSync(join(root, `${prefix}/share/doc/incap-cert/README.md`), 'utf8'),
        readFileSync(join(CLI, '../../README.md'), 'utf8'),
      );
      const completionScript = readFileSync(join(root, completion), 'utf8');
      assert.match(completionScript, /^complete -F _incap_cert incap-cert$/m);
      const manual = readFileSync(join(root, `${prefix}/share/man/man1/incap-cert.1`), 'utf8');
      assert.ok(
        manual.includes(`.I ${prefix.replaceAll('-', '\\-')}/share/doc/incap\\-cert/`),
        'FILES names the prefix',
      );

      const removed = await cli(['uninstall', '--destdir', root, '--prefix', prefix]);
      assert.equal(removed.code, 0, removed.stderr);
      assert.deepEqual(filesUnder(root), ['etc/incap-cert/config.json', 'usr/bin/mail']);
    });
  }

  it('man renders both pages from where install put them, without a warning', async (t) => {
    if (spawnSync('man', ['--version']).error !== undefined) return t.skip('no man here');
    const root = rootWithMail();
    assert.equal((await cli(['install', '--destdir', root, '--binary', stub(), '--cron'])).code, 0);
    for (const [page, heading] of [
      ['man1/incap-cert.1', /^INCAP-CERT\(1\)/],
      ['man5/incap-cert-config.5', /^INCAP-CERT-CONFIG\(5\)/],
    ] as const) {
      const shown = spawnSync('man', ['--warnings', '-l', join(root, 'usr/local/share/man', page)], {
        encoding: 'utf8',
        env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '100' },
      });
      assert.equal(shown.status, 0, shown.stderr);
      assert.equal(shown.stderr, '', page);
      assert.match(shown.stdout, heading);
    }
  });

  it('the logrotate file names the log file an existing config names, and rotates it', async () => {
    const root = rootWithMail();
    mkdirSync(join(root, 'etc/incap-cert'), { recursive: true, mode: 0o700 });
    writeFileSync(
      join(root, 'etc/incap-cert/config.json'),
      JSON.stringify({ sites: { 'example.com': 1 }, logFile: '/srv/logs/incap cert.log' }),
      { mode: 0o600 },
    );
    const result = await cli(['install', '--destdir', root, '--binary', stub(), '--cron']);
    assert.equal(result.code, 0, result.stderr);
    const snippet = readFileSync(join(root, 'etc/logrotate.d/incap-cert'), 'utf8');
    assert.match(snippet, /^"\/srv\/logs\/incap cert\.log" \{$/m);
    assert.doesNotMatch(snippet, /^\/var\/log/m);
  });

  it('keeps a logrotate file it did not write, leaves it out of the record, and uninstall leaves it', async () => {
    const root = rootWithMail();
    mkdirSync(join(root, 'etc/logrotate.d'), { recursive: true });
    writeFileSync(join(root, 'etc/logrotate.d/incap-cert'), '# mine\n');
    const result = await cli(['install', '--destdir', root, '--binary', stub(), '--cron']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^kept the existing .*\/etc\/logrotate\.d\/incap-cert$/m);
    assert.ok(!recorded(root, '/usr/local').includes('/etc/logrotate.d/incap-cert'));
    // A reinstall does not claim it either.
    assert.equal((await cli(['install', '--destdir', root, '--binary', stub(), '--cron'])).code, 0);
    assert.ok(!recorded(root, '/usr/local').includes('/etc/logrotate.d/incap-cert'));
    assert.equal((await cli(['uninstall', '--destdir', root])).code, 0);
    assert.equal(readFileSync(join(root, 'etc/logrotate.d/incap-cert'), 'utf8'), '# mine\n');
  });

  it('a second prefix does not take over the shared completion and logrotate files of the first', async () => {
    const root = rootWithMail();
    for (const prefix of ['/opt/a', '/opt/b'])
      assert.equal(
        (await cli(['install', '--destdir', root, '--prefix', prefix, '--binary', stub(), '--cron'])).code,
        0,
      );
    assert.ok(!recorded(root, '/opt/b').includes('/etc/bash_completion.d/incap-cert'));
    assert.equal((await cli(['uninstall', '--destdir', root, '--prefix', '/opt/b'])).code, 0);
    assert.ok(
      existsSync(join(root, 'etc/bash_completion.d/incap-cert')),
      'the first install’s completion stays',
    );
    assert.ok(existsSync(join(root, 'etc/logrotate.d/incap-cert')));
  });
});

describe('the config template’s notifier', () => {
  it('is left out where no mail program exists, said in one line; the config still loads', async () => {
    const root = tempDir();
    const result = await cli(['install', '--destdir', root, '--binary', stub(), '--cron']);
    assert.equal(result.code, 0, result.stderr);
    const said = result.stdout.split('\n').filter((line) => line.includes('onFailure'));
    assert.equal(said.length, 1, result.stdout);
    assert.match(
      said[0] ?? '',
      /^left out onFailure from .*\/etc\/incap-cert\/config\.json: \/usr\/bin\/mail is not installed, .*apt install bsd-mailx/,
    );
    const file = join(root, 'etc/incap-cert/config.json');
    const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    assert.equal(config.onFailure, undefined);
    assert.equal(config.logFile, '/var/log/incap-cert.log');
    // Filled in, it is a valid config.
    writeFileSync(
      file,
      JSON.stringify({ ...config, api: { id: '1', key: 'k' }, sites: { 'example.com': 1 } }),
      { mode: 0o600 },
    );
    chmodSync(join(root, 'etc/incap-cert'), 0o700);
    assert.equal(loadConfig({ config: file }, {}).onFailure, undefined);
  });

  it('is kept where the mail program exists, and nothing is said', async () => {
    const root = rootWithMail();
    const result = await cli(['install', '--destdir', root, '--binary', stub(), '--cron']);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, /onFailure/);
    const config = JSON.parse(readFileSync(join(root, 'etc/incap-cert/config.json'), 'utf8')) as {
      onFailure?: string[];
    };
    assert.deepEqual(config.onFailure?.slice(0, 2), ['/usr/bin/mail', '-s']);
  });

  it('--dry-run says it would leave it out, and writes nothing', async () => {
    const root = tempDir();
    const result = await cli(['install', '--dry-run', '--destdir', root, '--binary', stub(), '--cron']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^would leave out onFailure from .*config\.json: \/usr\/bin\/mail is not installed/m,
    );
    assert.deepEqual(readdirSync(root), []);
  });
});

describe('install --binary refuses what is not this version', () => {
  const refusals: [string, string, RegExp][] = [
    [
      'another version',
      "echo 'incap-cert 0.0.1'",
      /its --version says "incap-cert 0\.0\.1", not incap-cert /,
    ],
    [
      'another program',
      "echo 'GNU coreutils 9.1'",
      /its --version says "GNU coreutils 9\.1", not incap-cert /,
    ],
    [
      'the bare version number, without the name',
      `echo '${VERSION}'`,
      new RegExp(`its --version says "${VERSION.replaceAll('.', '\\.')}", not incap-cert `),
    ],
    ['a program that fails', 'exit 3', /it failed on --version \(exit 3\)/],
    [
      'a program that saw the environment',
      `echo "incap-cert ${VERSION}$HOME$PATH$IMPERVA_API_KEY"`,
      /its --version says "incap-cert /,
    ],
  ];
  for (const [what, body, message] of refusals) {
    it(`${what}: exit 2, one line, nothing written`, async () => {
      const root = tempDir();
      const result = await cli(['install', '--destdir', root, '--binary', stub(body), '--cron'], {
        IMPERVA_API_KEY: 'not-for-children',
      });
      assert.equal(result.code, 2, result.stdout);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
      assert.match(result.stderr, /^error: refusing .*incap-cert-linux-x64: /);
      assert.match(result.stderr, message);
      assert.doesNotMatch(result.stderr, /not-for-children/);
      assert.deepEqual(readdirSync(root), []);
    });
  }

  it('a file that cannot be run: exit 2', async () => {
    const root = tempDir();
    const file = stub();
    chmodSync(file, 0o644);
    const result = await cli(['install', '--destdir', root, '--binary', file, '--cron']);
    assert.equal(result.code, 2, result.stdout);
    assert.match(
      result.stderr,
      /^error: refusing .*: it could not be run \(EACCES\); it must say incap-cert /,
    );
  });

  it('one that does not answer within 10 s: exit 2', async () => {
    const root = tempDir();
    const started = Date.now();
    const result = await cli([
      'install',
      '--destdir',
      root,
      '--binary',
      stub('exec /bin/sleep 60'),
      '--cron',
    ]);
    assert.equal(result.code, 2, result.stdout);
    assert.match(result.stderr, /it did not answer --version within 10 s/);
    assert.ok(Date.now() - started < 30_000);
    assert.deepEqual(readdirSync(root), []);
  });
});
