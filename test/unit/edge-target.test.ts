import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cnameTarget, edgeTarget, parseEdgeAddress } from '../../src/edge/target.js';

const DNS_STRING = [
  { dns_record_name: 'www.example.com', set_type_to: 'CNAME', set_data_to: 'x343.incapdns.net' },
  { dns_record_name: 'example.com', set_type_to: 'A', set_data_to: '10.200.0.0' },
];
const DNS_LIST = [
  { dns_record_name: 'example.com', set_type_to: 'A', set_data_to: ['45.60.12.34'] },
  { dns_record_name: 'www.example.com', set_type_to: 'CNAME', set_data_to: ['AB12.x.Incapdns.NET.'] },
];

describe('parseEdgeAddress', () => {
  const table: [string, { host: string; port: number } | undefined][] = [
    ['127.0.0.1:8443', { host: '127.0.0.1', port: 8443 }],
    [' edge.example.test:443 ', { host: 'edge.example.test', port: 443 }],
    ['Edge.Example.TEST:443', { host: 'edge.example.test', port: 443 }],
    ['[::1]:8443', { host: '::1', port: 8443 }],
    ['::1:8443', undefined],
    ['[edge.example.test]:443', undefined],
    ['127.0.0.1', undefined],
    ['127.0.0.1:0', undefined],
    ['127.0.0.1:65536', undefined],
    ['127.0.0.1:-1', undefined],
    ['*.example.com:443', undefined],
    ['exa mple.com:443', undefined],
    [':443', undefined],
    ['https://edge.example.test:443', undefined],
  ];
  for (const [text, expected] of table) {
    it(`${JSON.stringify(text)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseEdgeAddress(text), expected);
    });
  }
});

describe('cnameTarget', () => {
  it('takes the CNAME record of the name, set_data_to a string or a list', () => {
    assert.equal(cnameTarget(DNS_STRING, 'www.example.com'), 'x343.incapdns.net');
    assert.equal(cnameTarget(DNS_LIST, 'www.example.com'), 'ab12.x.incapdns.net');
  });

  it("an apex with A records takes the site's CNAME (its www)", () => {
    assert.equal(cnameTarget(DNS_STRING, 'example.com'), 'x343.incapdns.net');
  });

  it('prefers the record of the name over another CNAME of the site', () => {
    const dns = [
      { dns_record_name: 'a.example.com', set_type_to: 'CNAME', set_data_to: 'one.x.incapdns.net' },
      { dns_record_name: 'b.example.com', set_type_to: 'cname', set_data_to: ['two.x.incapdns.net'] },
    ];
    assert.equal(cnameTarget(dns, 'B.example.com'), 'two.x.incapdns.net');
    assert.equal(cnameTarget(dns, 'c.example.com'), 'one.x.incapdns.net');
  });

  it('ignores what is not a usable record', () => {
    for (const dns of [
      undefined,
      null,
      'x343.incapdns.net',
      {},
      [],
      [null, 7, 'x'],
      [{ set_type_to: 'A', set_data_to: '10.0.0.1' }],
      [{ set_type_to: 'CNAME', set_data_to: [] }],
      [{ set_type_to: 'CNAME', set_data_to: 42 }],
      [{ set_type_to: 'CNAME', set_data_to: 'not a host name' }],
      [{ set_type_to: 'CNAME', set_data_to: '*.incapdns.net' }],
    ]) {
      assert.equal(cnameTarget(dns, 'www.example.com'), undefined, JSON.stringify(dns));
    }
  });
});

describe('edgeTarget', () => {
  const edgeAddress = { host: '127.0.0.1', port: 8443 };

  it('edgeAddress overrides everything', () => {
    assert.deepEqual(edgeTarget({ name: 'www.example.com', edgeAddress, dns: DNS_STRING }), {
      host: '127.0.0.1',
      port: 8443,
      servername: 'www.example.com',
      via: 'edgeAddress',
    });
  });

  it("else the site's CNAME target, port 443", () => {
    assert.deepEqual(edgeTarget({ name: 'www.example.com', dns: DNS_LIST }), {
      host: 'ab12.x.incapdns.net',
      port: 443,
      servername: 'www.example.com',
      via: 'cname',
    });
  });

  it('else the name itself, port 443', () => {
    assert.deepEqual(edgeTarget({ name: 'WWW.Example.com.', dns: [] }), {
      host: 'www.example.com',
      port: 443,
      servername: 'www.example.com',
      via: 'name',
    });
  });

  it("a wildcard name sends the site's domain as SNI and connects by it", () => {
    assert.deepEqual(edgeTarget({ name: '*.example.com', domain: 'Example.com' }), {
      host: 'example.com',
      port: 443,
      servername: 'example.com',
      via: 'name',
    });
    assert.deepEqual(edgeTarget({ name: '*.example.com', domain: 'www.example.com', dns: DNS_STRING }), {
      host: 'x343.incapdns.net',
      port: 443,
      servername: 'www.example.com',
      via: 'cname',
    });
  });

  it('a wildcard name without a usable domain is an error, naming the name', () => {
    for (const domain of [undefined, '*.example.com', '']) {
      const target = edgeTarget({ name: '*.example.com', domain, edgeAddress });
      assert.ok('error' in target);
      assert.match(target.error, /^\*\.example\.com is a wildcard/);
    }
    const bad = edgeTarget({ name: 'not a name' });
    assert.ok('error' in bad);
  });
});
