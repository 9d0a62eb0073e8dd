/**
 * Attack: help, --version and completion with the options every command takes in front of them. An operator types
 * `incap-cert -q help status` or `incap-cert -c FILE status --help`; both must answer as without the option, never
 * "unknown option --version (did you mean --version?)".
 */
import assert from 'node:assert/strict';
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
