import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isIP } from 'node:net';
import { isIPv4, isIPv6, normalizeName } from '../../src/names/normalize.js';

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

describe('isIPv4 and isIPv6 agree with node:net', () => {
  for (const text of [
    '127.0.0.1',
    '192.0.2.10',
    '255.255.255.255',
    '256.1.1.1',
    '1.2.3',
    '01.2.3.4',
    '1.2.3.4.5',
    '::1',
    '2001:db8::1',
    '2001:DB8:0:0:0:0:0:1',
    '::ffff:192.0.2.1',
    '1::2::3',
    ':::',
    'zz::1',
    '12345::1',
    'example.com',
    '',
  ]) {
    it(JSON.stringify(text), () => {
      assert.equal(isIPv4(text), isIP(text) === 4);
      assert.equal(isIPv6(text), isIP(text) === 6);
    });
  }
});
