/**
 * Issue 9, installer: a --prefix with spaces, &, #, %, quotes or other shell, sed, cron or systemd metacharacters
 * works — the installed hooks, cron line and unit run exactly PREFIX/bin/incap-cert — or is refused with exit code 2
 * before anything is written. Run through both entries: `incap-cert install` and scripts/install.sh.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cronWord, shellQuote, systemdWord } from '../../src/install/render.js';
import { CLI, ROOT, runCommand } from '../support/harness.js';
import { VERSION } from '../../src/util/version.js';

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
function temp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'incap-cert-prefix-'));
  made.push(dir);
  return dir;
}

const ENTRIES = {
  'incap-cert install': (args: string[]) => runCommand(process.execPath, [CLI, 'install', ...args]),
  'scripts/install.sh': (args: string[]) =>
    runCommand('bash', [join(ROOT, 'scripts', 'install.sh'), ...args]),
};

/** Folder names that break a sed replacement, a shell word, a cron line or a systemd setting when not escaped. */
const NASTY = [
  'my dir & #50%off',
  `it's "quoted"`,
  'semi;colon glob*?[x] (paren) {brace} <angle>|pipe',
  'bang! tilde~ caret^ eq=comma,colon:at@plus+',
  '%%d%s%n%',
  ' leading and trailing ',
  '#',
];

/**
 * What cron runs for a crontab line's command (crontab(5); do_command.c in Debian's cron): `%` ends the command
 * (the rest is stdin) unless written `\%`, which becomes `%`; every other backslash stays. Then /bin/sh -c.
 */
function cronCommand(command: string): string {
  let out = '';
  for (let i = 0; i < command.length; i++) {
    const char = command[i]!;
    if (char === '\\' && command[i + 1] === '%') {
      out += '%';
      i++;
    } else if (char === '\\') {
      out += char + (command[i + 1] ?? '');
      i++;
    } else if (char === '%') {
      break;
    } else out += char;
  }
  return out;
}

/** The first word of a systemd command line as systemd reads it: specifiers (%%), then words, then C escapes. */
function systemdFirstWord(value: string): string {
  const word = value.replaceAll('%%', '\u0000').split(/[ \t]/)[0]!;
  assert.doesNotMatch(word, /%|\$|"|'/, `an unescaped specifier, variable or quote in ${word}`);
  return word
    .replace(/\\x([0-9a-f]{2})/g, (_all, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replaceAll('\u0000', '%');
}

/** A stand-in executable at PREFIX/bin/incap-cert that records its arguments. */
function stubAt(prefix: string, record: string): void {
  mkdirSync(join(prefix, 'bin'), { recursive: true });
  writeFileSync(
    join(prefix, 'bin', 'incap-cert'),
    `#!/bin/sh\nprintf '%s\\n' "$@" > ${shellQuote(record)}\n`,
  );
  chmodSync(join(prefix, 'bin', 'incap-cert'), 0o755);
}

function stubBinary(): string {
  const file = join(temp(), 'incap-cert-linux-x64');
  writeFileSync(file, `#!/bin/sh\necho 'incap-cert ${VERSION}' # stub\n`, { mode: 0o755 });
  return file;
}

const PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

for (const [entry, install] of Object.entries(ENTRIES)) {
  describe(`${entry} --prefix with metacharacters`, () => {
    // The wrapper passes the prefix on as one argument: two names show it; the installer gets them all.
    const names = entry === 'scripts/install.sh' ? NASTY.slice(0, 2) : NASTY;
    for (const name of names) {
      it(`works for a folder named ${JSON.stringify(name)}`, async () => {
        const root = temp();
        // The prefix is a real folder (outside the staging root) so that the installed files can run it.
        const prefix = join(temp(), name);
        const record = join(temp(), 'args');
        for (const timer of ['--cron', '--systemd']) {
          const result = await install([
            '--destdir',
            root,
            '--prefix',
            prefix,
            '--binary',
            stubBinary(),
            timer,
          ]);
          assert.equal(result.code, 0, result.stderr);
          assert.equal(result.stderr, '');
        }
        const staged = join(root, prefix);
        assert.equal(
          readFileSync(join(staged, 'bin', 'incap-cert'), 'utf8'),
          `#!/bin/sh\necho 'incap-cert ${VERSION}' # stub\n`,
        );
        stubAt(prefix, record);
        const ran = (): string[] => {
          const args = readFileSync(record, 'utf8').split('\n').slice(0, -1);
          rmSync(record);
          return args;
        };

        // Certbot's drop-in, with no incap-cert on PATH: it runs PREFIX/bin/incap-cert deploy.
        const dropin = await runCommand(
          '/bin/sh',
          [join(root, 'etc/letsencrypt/renewal-hooks/deploy/incap-cert')],
          {
            PATH,
          },
        );
        assert.equal(dropin.code, 0, dropin.stderr);
        assert.deepEqual(ran(), ['deploy']);

        // dehydrated's hook.
        const dehydrated = await runCommand(
          'bash',
          [
            join(staged, 'share/incap-cert/hooks/dehydrated-hook.sh'),
            'deploy_cert',
            'd.example',
            '/k.pem',
            '/c.pem',
            '/f.pem',
            '/ch.pem',
            '1',
          ],
          { PATH },
        );
        assert.equal(dehydrated.code, 0, dehydrated.stderr);
        assert.deepEqual(ran(), ['push', '--cert', '/f.pem', '--key', '/k.pem']);

        // acme.sh's plugin, sourced and called the way acme.sh does.
        const plugin = join(staged, 'share/incap-cert/hooks/acme.sh/incap_cert.sh');
        const acme = await runCommand(
          '/bin/sh',
          ['-c', '. "$1" && incap_cert_deploy a.example /k.pem /c.pem /ca.pem /f.pem', 'sh', plugin],
          { PATH },
        );
        assert.equal(acme.code, 0, acme.stderr);
        assert.deepEqual(ran(), ['push', '--cert', '/f.pem', '--key', '/k.pem']);

        // The systemd unit: ExecStart's first word is the executable, whole.
        const unit = readFileSync(join(root, 'etc/systemd/system/incap-cert-sync.service'), 'utf8');
        const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1];
        assert.ok(execStart !== undefined);
        assert.equal(systemdFirstWord(execStart), join(prefix, 'bin', 'incap-cert'));
        assert.match(execStart, / sync$/);
      });
    }

    it('writes a cron line that cron and sh run as PREFIX/bin/incap-cert sync', async () => {
      for (const name of names) {
        const root = temp();
        const prefix = join(temp(), name);
        const record = join(temp(), 'args');
        const result = await install([
          '--destdir',
          root,
          '--prefix',
          prefix,
          '--binary',
          stubBinary(),
          '--cron',
        ]);
        assert.equal(result.code, 0, result.stderr);
        stubAt(prefix, record);
        const line = readFileSync(join(root, 'etc/cron.d/incap-cert'), 'utf8')
          .split('\n')
          .find((text) => /^\d/.test(text));
        assert.ok(line !== undefined);
        const fields = /^(\S+\s+){5}root\s+(.*)$/.exec(line);
        assert.ok(fields?.[2] !== undefined, line);
        const command = cronCommand(fields[2]);
        execFileSync('/bin/sh', ['-c', command], { env: { PATH } });
        assert.deepEqual(readFileSync(record, 'utf8').split('\n').slice(0, -1), ['sync'], `${name}: ${line}`);
      }
    });

    for (const [name, prefix] of [
      ['a dollar', '/opt/$HOME'],
      ['a backslash', '/opt/back\\slash'],
      ['a backquote', '/opt/`id`'],
      ['a newline', '/opt/new\nline'],
      ['a tab', '/opt/tab\there'],
      ['a carriage return', '/opt/cr\rx'],
      ['non-ASCII', '/opt/ünïcode'],
      ['a relative path', 'opt/incap'],
    ] as const) {
      it(`refuses a prefix with ${name} before writing anything`, async () => {
        const root = temp();
        const result = await install(['--destdir', root, '--prefix', prefix, '--binary', stubBinary()]);
        assert.equal(result.code, 2, result.stdout + result.stderr);
        assert.equal(result.stdout, '');
        assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
        assert.match(result.stderr, /^error: --prefix .*(absolute path|choose a folder without it)/);
        assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
        assert.deepEqual(readdirSync(root), [], 'nothing written');
      });
    }
  });
}

describe('escaping, word by word', () => {
  it('leaves plain paths as they are', () => {
    assert.equal(systemdWord('/usr/local/bin/incap-cert'), '/usr/local/bin/incap-cert');
    assert.equal(cronWord('/usr/local/bin/incap-cert'), '/usr/local/bin/incap-cert');
  });
  it('escapes for systemd and cron', () => {
    assert.equal(systemdWord('/a b/50%/x'), '/a\\x20b/50%%/x');
    assert.equal(cronWord('/a b/50%/x'), "'/a b/50'\\%'/x'");
    assert.equal(cronCommand(cronWord("/it's 100%")), `'/it'\\''s 100'%`);
  });
});
