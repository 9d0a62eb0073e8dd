/**
 * What the help pages, the man page and the bash completion offer a command is what that command accepts: its own
 * options and the common options it reads (its `globals` in the catalogue), never one it refuses with "does nothing".
 * Table-driven over the catalogue; help and completion through the built CLI, and every offered flag given to the
 * built CLI to show that the parser takes it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Options } from 'yargs';
import { COMMANDS } from '../../src/cli/catalogue.js';
import { manPage } from '../../src/cli/man.js';
import { GLOBAL_NAMES, PLACEHOLDERS, globalOptions } from '../../src/cli/options.js';
import { runCli, tempDir } from '../support/harness.js';

const dir = tempDir();
// No config anywhere: a command that reads it stops at "config file not found", after its options were judged.
const env = { INCAP_CERT_CONFIG: join(dir, 'missing.json') };

/** The flags in the option tables of a help page: `  -c, --config FILE  …` and `      --live  …`. */
function helpFlags(page: string): Set<string> {
  const flags = new Set<string>();
  for (const line of page.split('\n')) {
    const row = /^ {2}(?: {4})?(--?[a-z][\w-]*)(?:, (--[a-z][\w-]*))?(?: |$)/.exec(line);
    if (row === null) continue;
    for (const flag of row.slice(1)) if (flag !== undefined) flags.add(flag);
  }
  return flags;
}

/** The flags the completion script offers after `command`. */
function completionFlags(script: string, command: string): Set<string> {
  const line = new RegExp(`^ {4}${command}\\) words="([^"]*)"`, 'm').exec(script);
  assert.ok(line?.[1] !== undefined, `completion has no case for ${command}`);
  return new Set(
    line[1].split(' ').filter((word) => word.startsWith('-') && word !== '--help' && word !== '--version'),
  );
}

/** The flags in a command's entry under COMMANDS in the man page: its option items and the common ones it reads. */
function manFlags(page: string, command: string): Set<string> {
  const lines = page.slice(page.indexOf('.SH COMMANDS'), page.indexOf('.SH OPTIONS')).split('\n');
  const names = COMMANDS.map((one) => one.name);
  const entry = (line: string) => /^\.BR? (\S+)/.exec(line)?.[1];
  const start = lines.findIndex((line) => entry(line) === command);
  assert.ok(start > 0, `the man page has no entry for ${command}`);
  const next = lines.findIndex((line, index) => index > start && names.includes(entry(line) ?? ''));
  const flags = new Set<string>();
  for (const line of lines.slice(start + 1, next < 0 ? undefined : next)) {
    if (!/^\.B[IR]? /.test(line)) continue;
    for (const flag of line.replace(/\\-/g, '-').matchAll(/(?<![\w-])--?[a-z][\w-]*/g)) flags.add(flag[0]);
  }
  return flags;
}

/** Every option a command could be given: its own and the common ones, by each word that names them. */
function optionOf(command: (typeof COMMANDS)[number], flag: string) {
  const all = Object.entries<Options>({ ...command.options, ...globalOptions });
  return all.find(([name, option]) => {
    const alias = typeof option.alias === 'string' ? option.alias : undefined;
    return (
      flag === `--${name}` || (alias !== undefined && flag === (alias.length === 1 ? '-' : '--') + alias)
    );
  });
}

/** A value for an option that takes one, by its placeholder. */
function valueFor(name: string): string {
  const placeholder = PLACEHOLDERS[name];
  if (placeholder === 'ID') return '1234567';
  if (placeholder === 'SECONDS') return '5';
  if (placeholder === 'RSA|ECC') return 'RSA';
  if (placeholder === 'DIR') return join(dir, 'stage');
  return join(dir, `no-such-${name}`);
}

describe('help, man and completion offer each command what it accepts', () => {
  const page = manPage(COMMANDS, { date: '2026-01-01' });
  const helps = new Map<string, string>();
  let completion = '';
  before(async () => {
    for (const command of COMMANDS) {
      const help = await runCli(['help', command.name]);
      assert.equal(help.code, 0, help.stderr);
      helps.set(command.name, help.stdout);
    }
    const script = await runCli(['completion']);
    assert.equal(script.code, 0, script.stderr);
    completion = script.stdout;
  });

  for (const command of COMMANDS) {
    it(`${command.name}: help, completion and man offer the same flags, and none it refuses`, () => {
      const offered = helpFlags(helps.get(command.name) ?? '');
      assert.deepEqual(completionFlags(completion, command.name), offered, 'completion = help');
      // The man page names the common options by their long names; their letters are under OPTIONS.
      const long = new Set([...offered].filter((flag) => flag.startsWith('--')));
      assert.deepEqual(manFlags(page, command.name), long, 'man = help');
      assert.ok(offered.has('--json'), 'every command takes --json');
      for (const name of GLOBAL_NAMES) {
        const reads = command.globals.includes(name);
        assert.equal(offered.has(`--${name}`), reads, `--${name}: offered exactly when read`);
      }
    });

    // Twice: each option by its long name, then by its alias where it has one (given both, yargs takes a list).
    for (const [how, byAlias] of [
      ['long names', false],
      ['aliases', true],
    ] as const) {
      it(`${command.name}: every offered flag is taken by the parser (${how})`, async () => {
        const offered = [...helpFlags(helps.get(command.name) ?? '')];
        const argv = [command.name, ...(command.name === 'queue' ? ['drop'] : [])];
        const given = new Set<string>();
        for (const flag of offered) {
          const found = optionOf(command, flag);
          assert.ok(found !== undefined, `${command.name} offers ${flag}, which no option of it is`);
          const [name, option] = found;
          const aliased = typeof option.alias === 'string';
          if (given.has(name) || (aliased && byAlias === (flag === `--${name}`))) continue;
          given.add(name);
          argv.push(flag, ...(option.type === 'string' ? [valueFor(name)] : []));
        }
        const result = await runCli(argv, env);
        assert.doesNotMatch(
          result.stderr,
          /does nothing|unknown (option|argument)|needs a value|--[\w-]+ takes /,
          `${argv.join(' ')}: ${result.stderr}`,
        );
      });
    }
  }

  it('a refused option is not offered: status --dry-run exits 2 and no page or completion offers it', async () => {
    const refused = await runCli(['status', '--dry-run'], env);
    assert.deepEqual(
      [refused.code, refused.stderr],
      [2, 'error: --dry-run does nothing with status; see incap-cert status --help\n'],
    );
    const help = await runCli(['status', '--help']);
    assert.doesNotMatch(help.stdout, /--dry-run/);
    assert.match(completion, /^ {4}status\) words="--live-dir --live --config -c --verbose /m);
    assert.ok(!completionFlags(completion, 'status').has('--dry-run'));
    assert.ok(!manFlags(page, 'status').has('--dry-run'));
  });

  it('did-you-mean guesses only a flag the command reads: remove --dry-rn, not status --dry-rn', async () => {
    const remove = await runCli(['remove', '--site-id', '1234567', '--auth-type', 'RSA', '--dry-rn'], env);
    assert.deepEqual(
      [remove.code, remove.stderr],
      [2, 'error: unknown option --dry-rn (did you mean --dry-run?); see incap-cert --help\n'],
    );
    const status = await runCli(['status', '--dry-rn'], env);
    assert.deepEqual(
      [status.code, status.stderr],
      [2, 'error: unknown option --dry-rn; see incap-cert --help\n'],
    );
    const check = await runCli(['check', '--metrics-fil', 'x'], env);
    assert.equal(check.code, 2);
    assert.doesNotMatch(check.stderr, /did you mean/);
  });

  it('the man page names the commands that read each common option', () => {
    for (const name of GLOBAL_NAMES) {
      const readers = COMMANDS.filter((command) => command.globals.includes(name)).map(
        (command) => command.name,
      );
      const entry = page.slice(
        page.indexOf(`\\-\\-${name.replace(/-/g, '\\-')}`, page.indexOf('.SH OPTIONS')),
      );
      assert.match(entry, new RegExp(`^Read by ${readers.join(', ')}\\.$`, 'm'), name);
    }
  });
});
