/**
 * Help, --version and completion with the options every command takes in front of them. An operator types
 * `incap-cert -q help status` or `incap-cert -c FILE status --help`; both must answer as without the option, never
 * "unknown option --version (did you mean --version?)".
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { runCli } from '../support/harness.js';

describe('help, --version and completion after global options', () => {
  it('-q help status and -c FILE status --help print the status page', async () => {
    const plain = await runCli(['help', 'status']);
    assert.equal(plain.code, 0);
    for (const argv of [
      ['-q', 'help', 'status'],
      ['-c', '/nonexistent/config.json', 'status', '--help'],
      ['--json', 'status', '--help'],
      ['--config=/nonexistent/config.json', 'help', 'status'],
    ]) {
      const result = await runCli(argv);
      assert.equal(result.code, 0, `${argv.join(' ')}: ${result.stderr}`);
      assert.equal(result.stdout, plain.stdout, argv.join(' '));
      assert.equal(result.stderr, '', argv.join(' '));
    }
  });

  it('--version after a global option or a command prints the version', async () => {
    const plain = await runCli(['--version']);
    for (const argv of [
      ['-v', '--version'],
      ['--json', '--version'],
      ['status', '--version'],
    ]) {
      const result = await runCli(argv);
      assert.equal(result.code, 0, `${argv.join(' ')}: ${result.stderr}`);
      assert.equal(result.stdout, plain.stdout, argv.join(' '));
    }
  });

  it('--json completion prints the completion script', async () => {
    const result = await runCli(['--json', 'completion']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^complete -F _incap_cert incap-cert$/m);
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
