import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeName } from '../../src/names/normalize.js';

describe('normalizeName: DNS host names only, in the form certificates hold them', () => {
  const cases: [string, string | undefined][] = [
    ['Example.COM', 'example.com'],
    ['www.example.com.', 'www.example.com'],
    ['*.Example.org', '*.example.org'],
    ['bücher.de', 'xn--bcher-kva.de'],
    ['*.münchen.de', '*.xn--mnchen-3ya.de'],
    ['XN--BCHER-KVA.de', 'xn--bcher-kva.de'],
    ['ＥＸＡＭＰＬＥ.com', 'example.com'],
    ['a-b.c-d.example', 'a-b.c-d.example'],
    ['localhost', 'localhost'],
    [`${'a'.repeat(63)}.example`, `${'a'.repeat(63)}.example`],
    // What the WHATWG host parser would cut short or let through.
    ['example.com\\evil', undefined],
    ['example.com?x', undefined],
    ['example.com#x', undefined],
    ['example.com/x', undefined],
    ['example.com:443', undefined],
    ['user@example.com', undefined],
    ['a_b.example', undefined],
    ['a!b.example', undefined],
    ['a$b.example', undefined],
    ['a(b).example', undefined],
    ['a%41.example', undefined],
    ['a＼b.example', undefined],
    // Not host names.
    ['a b.com', undefined],
    [' example.com', undefined],
    ['example.com\n', undefined],
    ['a..b.example', undefined],
    ['-a.example', undefined],
    ['a-.example', undefined],
    ['xn--zz.example', undefined],
    [`${'a'.repeat(64)}.example`, undefined],
    [`${'a.'.repeat(127)}ab`, undefined],
    ['*.*.example.com', undefined],
    ['a*.example.com', undefined],
    ['*.', undefined],
    ['.', undefined],
    ['', undefined],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${String(expected)}`, () => assert.equal(normalizeName(input), expected));
  }
});
