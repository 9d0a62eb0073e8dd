/** What reaches a terminal is printable, and the --json switch reads every form it is given in. */
import assert from 'node:assert/strict';
import { shownValue } from '../../src/util/shown.js';
import { describe, it } from 'node:test';
import { jsonSwitch } from '../../src/cli/options.js';
import { UsageError } from '../../src/model/errors.js';
import { printable, printableJson } from '../../src/util/printable.js';
import { formatTable } from '../../src/util/table.js';

describe('printable', () => {
  const cases: [string, string, string][] = [
    ['ESC (a CSI)', '\u001b[31mred', '\\x1b[31mred'],
    ['NUL, BEL, CR, VT', 'a\u0000b\u0007c\rd\u000be', 'a\\x00b\\x07c\\x0dd\\x0be'],
    ['DEL', 'a\u007fb', 'a\\x7fb'],
    ['C1: the one-character CSI and NEL', '\u009b2J\u0085', '\\x9b2J\\x85'],
    [
      'the bidirectional controls',
      '\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069',
      '\\u202a\\u202b\\u202c\\u202d\\u202e\\u2066\\u2067\\u2068\\u2069',
    ],
    ['newline and tab stay', 'a\nb\tc', 'a\nb\tc'],
    ['printable text beside them stays', 'é ü 漢字 \u00a0 \u2028 ok', 'é ü 漢字 \u00a0 \u2028 ok'],
    ['a backslash is text', 'C:\\x1b', 'C:\\x1b'],
  ];
  for (const [title, text, shown] of cases) it(title, () => assert.equal(printable(text), shown));

  it('is the same when applied twice (a line that passes two printers is not escaped twice)', () => {
    const once = printable('\u001b\u009b\u202e');
    assert.equal(printable(once), once);
  });
});

describe('printableJson', () => {
  it('escapes DEL, C1 and bidirectional controls with JSON escapes: the same value once parsed', () => {
    const value = { message: 'a\u007fb\u009bc\u202ed\u2066e\u001bf' };
    const text = printableJson(JSON.stringify(value));
    assert.equal(text, '{"message":"a\\u007fb\\u009bc\\u202ed\\u2066e\\u001bf"}');
    assert.deepEqual(JSON.parse(text), value);
  });
});

describe('formatTable', () => {
  it('escapes cells before measuring them: the columns after an escaped cell stay aligned', () => {
    const lines = formatTable(
      ['SITE', 'NAMES', 'STATE'],
      [
        ['1', 'a\u001b[2J.example', 'current'],
        ['22', 'b.example', 'missing'],
      ],
    );
    assert.deepEqual(lines, [
      'SITE  NAMES             STATE',
      '1     a\\x1b[2J.example  current',
      '22    b.example         missing',
    ]);
  });
});

describe('jsonSwitch', () => {
  const cases: [string[], boolean, string[]][] = [
    [['status'], false, ['status']],
    [['status', '--json'], true, ['status', '--json']],
    [['status', '--json=true'], true, ['status', '--json']],
    [['status', '--json=1'], true, ['status', '--json']],
    [['status', '--json=false'], false, ['status', '--no-json']],
    [['status', '--json=0'], false, ['status', '--no-json']],
    [['status', '--no-json'], false, ['status', '--no-json']],
    // The last one given wins, as for every flag.
    [['--json', 'status', '--json=0'], false, ['--json', 'status', '--no-json']],
    [['--no-json', 'status', '--json=1'], true, ['--no-json', 'status', '--json']],
    // As yargs reads a boolean: the word true or false after it is its value.
    [['status', '--json', 'false'], false, ['status', '--no-json']],
    [['status', '--json', 'true'], true, ['status', '--json']],
    [['status', '--json', '--live'], true, ['status', '--json', '--live']],
    // Nothing after -- is an option.
    [['status', '--', '--json'], false, ['status', '--', '--json']],
  ];
  for (const [argv, json, normal] of cases) {
    it(`${argv.join(' ')} → ${json ? 'on' : 'off'}`, () => {
      assert.deepEqual(jsonSwitch(argv), { json, argv: normal });
    });
  }

  for (const value of ['yes', '', '2', 'TRUE', 'on', 'true ']) {
    it(`--json=${value}: a usage error, and the document is on to tell it`, () => {
      const { json, problem } = jsonSwitch(['sync', `--json=${value}`, '--no-json']);
      assert.equal(json, true);
      assert.ok(problem instanceof UsageError);
      assert.equal(problem.exitCode, 2);
      assert.equal(
        problem.message,
        `--json takes true or 1 (on), false or 0 (off), not ${shownValue(value)}; see incap-cert --help`,
      );
    });
  }
});
