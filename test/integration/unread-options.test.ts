/**
 * An option that would do nothing on a command is refused (exit 2, one line naming the option and the command; with
 * --json the refusal is the document), for every command of the catalogue; the options a command reads are not. A
 * usage error never prints back a value that could be a secret.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { COMMANDS } from '../../src/cli/catalogue.js';
import { GLOBAL_NAMES, type GlobalName } from '../../src/cli/options.js';
import { newApiKey, runCli, tempDir } from '../support/harness.js';

const dir = tempDir();
// No config anywhere: a command that reads it stops at "config file not found", after the options were judged.
const env = { INCAP_CERT_CONFIG: join(dir, 'missing.json') };

const GIVEN: Record<GlobalName, string[]> = {
  config: ['--config', join(dir, 'other.json')],
  'dry-run': ['--dry-run'],
  verbose: ['-v'],
  quiet: ['--quiet'],
  'log-file': ['--log-file', join(dir, 'log.jsonl')],
  'metrics-file': ['--metrics-file', join(dir, 'metrics.prom')],
};

/** What each command needs on its command line to get as far as its options being judged. */
const BASE: Record<string, string[]> = {
  remove: ['--site-id', '1234567', '--auth-type', 'RSA'],
  // queue list reads none of what queue drop does: the list's refusals are below.
  queue: ['drop', '--all'],
  install: ['--destdir', join(dir, 'stage'), '--binary', join(dir, 'no-such-binary')],
  uninstall: ['--destdir', join(dir, 'stage')],
};

/** Which options of every command each command reads, as the catalogue is meant to say. */
const READS: Record<string, readonly GlobalName[]> = {
  deploy: GLOBAL_NAMES,
  push: GLOBAL_NAMES,
  sync: GLOBAL_NAMES,
  remove: GLOBAL_NAMES,
  status: ['config', 'verbose', 'quiet', 'log-file', 'metrics-file'],
  verify: ['config', 'verbose', 'quiet', 'log-file', 'metrics-file'],
  check: ['config', 'verbose', 'quiet', 'log-file'],
  canary: ['config', 'verbose', 'quiet', 'log-file', 'metrics-file'],
  queue: ['config', 'dry-run', 'verbose', 'quiet', 'log-file'],
  install: ['dry-run', 'verbose', 'quiet'],
  uninstall: ['dry-run', 'verbose', 'quiet'],
  completion: [],
  help: [],
};

describe('options that do nothing on a command are refused', () => {
  it('the table covers every command of the catalogue', () => {
    assert.deepEqual(Object.keys(READS).sort(), COMMANDS.map((command) => command.name).sort());
  });

  for (const command of COMMANDS) {
    const reads = READS[command.name] ?? [];
    for (const name of GLOBAL_NAMES) {
      const argv = [command.name, ...(BASE[command.name] ?? []), ...GIVEN[name]];
      if (reads.includes(name)) {
        it(`${command.name} reads --${name}`, async () => {
          const result = await runCli(argv, env);
          assert.doesNotMatch(result.stderr, /does nothing/, `${argv.join(' ')}: ${result.stderr}`);
        });
        continue;
      }
      it(`${command.name} --${name}: exit 2, one line; with --json the document`, async () => {
        const plain = await runCli(argv, env);
        const line = `error: --${name} does nothing with ${command.name}; see incap-cert ${command.name} --help\n`;
        assert.deepEqual([plain.code, plain.stderr, plain.stdout], [2, line, '']);
        const json = await runCli([...argv, '--json'], env);
        assert.equal(json.code, 2);
        const doc = JSON.parse(json.stdout) as {
          ok: boolean;
          command: string;
          error: { code: string; message: string };
        };
        assert.deepEqual([doc.ok, doc.command, doc.error.code], [false, command.name, 'USAGE']);
        assert.match(doc.error.message, new RegExp(`^--${name} does nothing with ${command.name};`));
      });
    }
  }

  it('--help and --version alone read no option but --json', async () => {
    for (const argv of [
      ['--version', '-v'],
      ['--help', '--config', join(dir, 'c.json')],
    ]) {
      const result = await runCli(argv, env);
      assert.equal(result.code, 2, argv.join(' '));
      assert.match(result.stderr, /^error: --(verbose|config) does nothing with --(version|help); /);
    }
  });

  it('queue list --dry-run and sync --wait without --verify: exit 2, one line', async () => {
    const list = await runCli(['queue', '--dry-run'], env);
    assert.deepEqual(
      [list.code, list.stderr],
      [
        2,
        'error: --dry-run does nothing with queue list (it goes with queue drop); see incap-cert queue --help\n',
      ],
    );
    const wait = await runCli(['sync', '--wait', '30'], env);
    assert.deepEqual(
      [wait.code, wait.stderr],
      [2, 'error: --wait does nothing with sync without --verify; see incap-cert sync --help\n'],
    );
  });
});

describe('a usage error never prints back what may be a secret', () => {
  const key = newApiKey();
  const cases: [string, string[]][] = [
    ['the key as push --site-id', ['push', '--lineage', dir, '--site-id', key]],
    ['the key as push --site-id=', ['push', '--lineage', dir, `--site-id=${key}`]],
    ['the key as remove --site-id', ['remove', '--site-id', key, '--auth-type', 'RSA']],
    ['the key as queue drop --site-id', ['queue', 'drop', '--site-id', key]],
    ['the key as --auth-type', ['remove', '--site-id', '1', '--auth-type', key]],
    ['the key where the command goes', [key]],
    ['the key after a command', ['status', key]],
    ['the key as queue action', ['queue', key]],
    ['the key as --json value', [`--json=${key}`, 'status']],
  ];
  for (const [what, argv] of cases) {
    it(`${what}: exit 2, the value described, not shown`, async () => {
      for (const json of [false, true]) {
        const result = await runCli(json ? [...argv, '--json'] : argv, env);
        assert.equal(result.code, 2, `${what}: ${result.stderr}`);
        assert.ok(!result.stderr.includes(key) && !result.stdout.includes(key), `${what}: ${result.stderr}`);
        assert.match(result.stderr, /^error: .*not shown: it may be a secret/);
        assert.equal(result.stderr.split('\n').length, 2, result.stderr);
      }
    });
  }

  it('a mistyped short site id is still named', async () => {
    const result = await runCli(['remove', '--site-id', '12a4', '--auth-type', 'RSA'], env);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /^error: --site-id takes a site id \(a positive whole number\), not 12a4;/);
  });
});
