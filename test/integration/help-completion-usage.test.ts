/**
 * Help, --version and completion with the options every command takes in front of them. An operator types
 * `incap-cert -q help status` or `incap-cert -c FILE status --help`; both must answer as without the option, never
 * "unknown option --version (did you mean --version?)".
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { VERSION } from '../../src/util/version.js';
import { runCli } from '../support/harness.js';

describe('help, --version and completion after global options', () => {
  it('-c FILE status --help and --json status --help print the status page', async () => {
    const plain = await runCli(['help', 'status']);
    assert.equal(plain.code, 0);
    for (const argv of [
      ['-c', '/nonexistent/config.json', 'status', '--help'],
      ['-q', 'status', '--help'],
    ]) {
      const result = await runCli(argv);
      assert.equal(result.code, 0, `${argv.join(' ')}: ${result.stderr}`);
      assert.equal(result.stdout, plain.stdout, argv.join(' '));
      assert.equal(result.stderr, '', argv.join(' '));
    }
  });

  it('--version after a command prints the version; --json prints it as a document', async () => {
    const plain = await runCli(['--version']);
    assert.deepEqual([plain.code, plain.stdout], [0, `incap-cert ${VERSION}\n`]);
    const after = await runCli(['status', '--version']);
    assert.deepEqual([after.code, after.stdout], [0, plain.stdout]);
    for (const argv of [
      ['--json', '--version'],
      ['--version', '--json=true'],
      ['--version', '--json', 'true'],
      ['--version', '--json=1'],
    ]) {
      const result = await runCli(argv);
      assert.equal(result.code, 0, `${argv.join(' ')}: ${result.stderr}`);
      assert.deepEqual(JSON.parse(result.stdout), {
        ok: true,
        command: 'version',
        exitCode: 0,
        version: VERSION,
      });
    }
    const off = await runCli(['--version', '--json', 'false']);
    assert.deepEqual([off.code, off.stdout], [0, plain.stdout]);
  });

  it('--help, help COMMAND and completion with --json print their text as a document', async () => {
    for (const [argv, command, like] of [
      [['--help', '--json'], 'help', /^incap-cert /],
      [['help', 'sync', '--json'], 'help', /^Usage: incap-cert sync/],
      [['--json', 'push', '--help'], 'help', /^Usage: incap-cert push/],
      [['help', 'config', '--json=true'], 'help', /api\.key/],
      [['--json', 'completion'], 'completion', /^complete -F _incap_cert incap-cert$/m],
    ] as const) {
      const result = await runCli([...argv]);
      assert.equal(result.code, 0, `${argv.join(' ')}: ${result.stderr}`);
      const doc = JSON.parse(result.stdout) as Record<string, unknown>;
      assert.deepEqual(Object.keys(doc), ['ok', 'command', 'exitCode', 'text'], argv.join(' '));
      assert.deepEqual([doc.ok, doc.command], [true, command], argv.join(' '));
      assert.match(String(doc.text), like, argv.join(' '));
      const plain = await runCli(argv.filter((arg) => !arg.startsWith('--json')));
      assert.equal(doc.text, plain.stdout, argv.join(' '));
    }
  });

  it('--json help nope: exit 2, one error line, and a JSON document on stdout', async () => {
    const result = await runCli(['--json', 'help', 'nope']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error: unknown command nope; see incap-cert --help\n$/);
    const doc = JSON.parse(result.stdout) as { ok: boolean; exitCode: number; error: { code: string } };
    assert.equal(doc.ok, false);
    assert.equal(doc.exitCode, 2);
    assert.equal(doc.error.code, 'USAGE');
  });
});

describe('bash completion, run in bash', () => {
  it('completes commands after a leading global option, and the words after a command', async (t) => {
    const script = (await runCli(['completion'])).stdout;
    const complete = (line: string): string[] => {
      const words = line.split(' ');
      const program = [
        script,
        `COMP_WORDS=(${words.map((word) => `'${word}'`).join(' ')})`,
        `COMP_CWORD=${words.length - 1}`,
        '_incap_cert',
        'printf "%s\\n" "${COMPREPLY[@]}"',
      ].join('\n');
      const result = spawnSync('bash', ['-c', program], { encoding: 'utf8' });
      return result.stdout.split('\n').filter(Boolean);
    };
    if (spawnSync('bash', ['--version']).error !== undefined) return t.skip('no bash here');
    assert.deepEqual(complete('incap-cert sta'), ['status']);
    assert.deepEqual(complete('incap-cert -c /etc/x.json sta'), ['status']);
    assert.deepEqual(complete('incap-cert --config=/etc/x.json -q que'), ['queue']);
    assert.deepEqual(complete('incap-cert queue d'), ['drop']);
    assert.deepEqual(complete('incap-cert -c FILE remove --auth-type '), ['RSA', 'ECC']);
    assert.ok(complete('incap-cert push --').includes('--site-id'));
  });
});

describe('usage errors in the house style', () => {
  for (const [argv, line] of [
    [['renew'], 'error: unknown command renew (did you mean sync?); see incap-cert --help'],
    [['certificates'], 'error: unknown command certificates (did you mean status?); see incap-cert --help'],
    [
      ['-c', '/nonexistent', 'sycn'],
      'error: unknown command sycn (did you mean sync?); see incap-cert --help',
    ],
    [
      ['push', '--site', '1'],
      'error: unknown option --site (did you mean --site-id?); see incap-cert --help',
    ],
    [
      ['remove', '--site-id', '1', '--auth-type', 'dsa'],
      'error: --auth-type takes RSA or ECC (or ECDSA), not dsa; see incap-cert --help',
    ],
  ] as const) {
    it(argv.join(' '), async () => {
      const result = await runCli(argv);
      assert.equal(result.code, 2);
      assert.equal(result.stderr, `${line}\n`);
      assert.equal(result.stdout, '');
    });
  }
  it('--json renew: the error and a JSON document on stdout', async () => {
    const result = await runCli(['--json', 'renew']);
    assert.equal(result.code, 2);
    const doc = JSON.parse(result.stdout) as { ok: boolean; error: { code: string; message: string } };
    assert.deepEqual([doc.ok, doc.error.code], [false, 'USAGE']);
    assert.match(doc.error.message, /^unknown command renew \(did you mean sync\?\)/);
  });
});
