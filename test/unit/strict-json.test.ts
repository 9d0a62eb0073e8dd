import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isObject, parseStrictJson, StrictJsonError, type JsonProblem } from '../../src/util/strict-json.js';

const SECRET = 'SECRETkey0123456789abcdef';

function problemsOf(text: string, maxDepth?: number): JsonProblem[] {
  try {
    parseStrictJson(text, maxDepth === undefined ? {} : { maxDepth });
  } catch (error) {
    assert.ok(error instanceof StrictJsonError, `expected StrictJsonError, got ${String(error)}`);
    return [...error.problems];
  }
  assert.fail('expected a StrictJsonError');
}

/** What a reader sees: reason, line and column, like the config loader prints it. */
const describe1 = (problem: JsonProblem) =>
  `${problem.path === undefined ? '' : `${problem.path.join('.')}: `}${problem.reason} at line ${problem.line}, column ${problem.column}`;

describe('parseStrictJson: valid JSON reads as JSON.parse reads it', () => {
  for (const text of [
    '{}',
    '[]',
    '0',
    '-1.5e3',
    '"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00"',
    'true',
    'null',
    ' {"a": [1, {"b": null}, "x:y"], "c": {"d": {"e": false}}, "f": "{\\"g\\": 1}"} ',
    '{"sites": {"example.com": 1, "www.example.com": [1, "2"]}, "k": "v:w", "l": ":"}',
    '[{"a": 1}, {"a": 2}]',
    '{"a": {"x": 1}, "b": {"x": 2}}',
  ]) {
    it(text, () => assert.deepEqual(parseStrictJson(text), JSON.parse(text)));
  }
  it('skips a leading byte-order mark', () => assert.deepEqual(parseStrictJson('\ufeff{"a": 1}'), { a: 1 }));
});

describe('parseStrictJson: keys', () => {
  const cases: [string, string, string[]][] = [
    ['a duplicate key', '{"a": 1, "a": 2}', ['a: appears more than once at line 1, column 10']],
    [
      'a duplicate key deep down, by line',
      '{\n  "api": {\n    "id": "1",\n    "key": "x",\n    "key": "y"\n  }\n}',
      ['api.key: appears more than once at line 5, column 5'],
    ],
    [
      'a duplicate key in an array element',
      '[{"a": 1}, {"b": 1, "b": 1}]',
      ['1.b: appears more than once at line 1, column 21'],
    ],
    [
      'the same key written with an escape',
      '{"key": 1, "k\\u0065y": 2}',
      ['key: appears more than once at line 1, column 12'],
    ],
    [
      '__proto__',
      '{"__proto__": {"x": 1}}',
      ['__proto__: this name is not allowed as a key at line 1, column 2'],
    ],
    [
      'constructor, deep down',
      '{"sites": {"constructor": 1}}',
      ['sites.constructor: this name is not allowed as a key at line 1, column 12'],
    ],
    [
      'hasOwnProperty',
      '{"api": {"hasOwnProperty": 1}}',
      ['api.hasOwnProperty: this name is not allowed as a key at line 1, column 10'],
    ],
    ['toString', '[{"toString": 1}]', ['0.toString: this name is not allowed as a key at line 1, column 3']],
    ['prototype', '{"prototype": 1}', ['prototype: this name is not allowed as a key at line 1, column 2']],
    [
      'every key problem at once',
      '{"a": 1, "a": 2, "b": {"__proto__": 1, "c": 1, "c": 2}}',
      [
        'a: appears more than once at line 1, column 10',
        'b.__proto__: this name is not allowed as a key at line 1, column 24',
        'b.c: appears more than once at line 1, column 48',
      ],
    ],
  ];
  for (const [title, text, expected] of cases) {
    it(title, () => assert.deepEqual(problemsOf(text).map(describe1), expected));
  }

  it('never lets a forbidden key reach the prototype', () => {
    assert.throws(() => parseStrictJson('{"__proto__": {"polluted": true}}'), StrictJsonError);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('parseStrictJson: syntax errors say what and where, and quote nothing', () => {
  const cases: [string, string][] = [
    ['{"a":}', 'unexpected character where a value belongs at line 1, column 6'],
    ['{\n"a"', 'unexpected end of JSON input at line 2, column 4'],
    ['{\n"a" 1}', "expected ':' after the property name at line 2, column 5"],
    ['', 'unexpected end of JSON input at line 1, column 1'],
    ['{"a": 1,}', 'expected a property name in double quotes at line 1, column 9'],
    ['[1 2]', "expected ',' or ']' after an array element at line 1, column 4"],
    ['{"a": 1 "b": 2}', "expected ',' or '}' after a property at line 1, column 9"],
    ['{"a": 01}', 'malformed number at line 1, column 7'],
    ['{"a": "x\\qy"}', 'bad escape in a string at line 1, column 9'],
    ['{"a": "x\\u12G4"}', 'bad escape in a string at line 1, column 9'],
    ['{"a": "x\ty"}', 'control character in a string (escape it) at line 1, column 9'],
    ['{"a": "xy', 'unterminated string at line 1, column 7'],
    ['{"a": 1} x', 'unexpected character after the end of the JSON value at line 1, column 10'],
    [
      '{"a": tru}',
      'unexpected character where a value belongs (a string needs double quotes) at line 1, column 7',
    ],
  ];
  for (const [text, expected] of cases) {
    it(JSON.stringify(text), () => assert.deepEqual(problemsOf(text).map(describe1), [expected]));
  }

  for (const text of [
    `{"api": {"key": ${SECRET}}}`,
    `{"api": {"key": "${SECRET}}}`,
    `{"api": {"key": "${SECRET}",}}`,
    `{"api": {"key": "${SECRET}" "id": 1}}`,
    `{"api": {"key": "${SECRET}\\x"}}`,
    `{"api": {"${SECRET}": 1, "${SECRET}": 2`,
    `{"api": {"key": ${SECRET.replace(/^S/, '"')}}}`,
    `{"api": {"key": -${SECRET}}}`,
  ]) {
    it(`quotes no part of ${JSON.stringify(text)}`, () => {
      const problems = problemsOf(text);
      assert.equal(problems.length, 1);
      const message = describe1({ ...problems[0]!, path: undefined });
      for (let length = 4; length <= SECRET.length; length += 1) {
        for (let start = 0; start + length <= SECRET.length; start += 1) {
          assert.ok(!message.includes(SECRET.slice(start, start + length)), message);
        }
      }
      assert.match(message, /^[A-Za-z ,:;'()\-.\][{}"]+ at line \d+, column \d+$/);
    });
  }

  it('refuses nesting deeper than the limit, even far past what the stack holds', () => {
    assert.deepEqual(problemsOf('[[[1]]]', 2).map(describe1), [
      'nested more than 2 levels deep at line 1, column 3',
    ]);
    assert.equal(
      problemsOf('['.repeat(100_000) + ']'.repeat(100_000))[0]?.reason,
      'nested more than 64 levels deep',
    );
    assert.deepEqual(parseStrictJson('[[[1]]]', { maxDepth: 3 }), [[[1]]]);
  });
});

describe('isObject', () => {
  it('is true only for non-null, non-array objects', () => {
    assert.ok(isObject({}));
    for (const value of [null, [], 'x', 1, undefined]) assert.ok(!isObject(value), String(value));
  });
});
