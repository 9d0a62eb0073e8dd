/** `incap-cert help config`: the config file's fields, from the same texts as incap-cert-config(5) and docs/config.md. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { CONFIG_FIELDS } from '../../src/config/schema.js';
import { runCli } from '../support/harness.js';

describe('help config', () => {
  it('prints every field with its value and default, exit 0, nothing on stderr', async () => {
    const result = await runCli(['help', 'config']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    for (const field of CONFIG_FIELDS) assert.match(result.stdout, new RegExp(`^ {2}${field}: `, 'm'), field);
    assert.match(result.stdout, /^ {2}attempts: whole number, 1 to 10, default 4$/m);
    assert.match(result.stdout, /^ {2}api\.key: string, required$/m);
    for (const line of result.stdout.split('\n')) assert.ok(line.length <= 100, line);
  });

  it('a mistyped topic is a usage error that suggests it; the overview names it', async () => {
    const result = await runCli(['help', 'confg']);
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      'error: unknown command confg (did you mean config?); see incap-cert --help\n',
    );
    const overview = await runCli(['--help']);
    assert.match(overview.stdout, /incap-cert help config/);
  });

  it('bash completes `help c` to the topic and the commands', async (t) => {
    if (spawnSync('bash', ['--version']).error !== undefined) return t.skip('no bash here');
    const script = (await runCli(['completion'])).stdout;
    const program = `${script}\nCOMP_WORDS=(incap-cert help c)\nCOMP_CWORD=2\n_incap_cert\nprintf "%s\\n" "\${COMPREPLY[@]}"`;
    const result = spawnSync('bash', ['-c', program], { encoding: 'utf8' });
    assert.deepEqual(result.stdout.trim().split('\n').sort(), ['canary', 'check', 'completion', 'config']);
    assert.equal(result.status, 0, result.stderr);
  });
});
