/**
 * The DER shortcut (leafNamesFromPem) against the full OpenSSL path (readChain): whenever the shortcut answers, the
 * full path must give the very same names and must not refuse the file. A hook run for an unmapped lineage is
 * answered by the shortcut alone, so any difference is either a missed renewal (the full path's names map, the
 * shortcut's do not) or a broken file answered exit 0 instead of exit 3.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { leafNamesFromPem } from '../../src/certificate/der.js';
import { readChain } from '../../src/certificate/read.js';
import * as d from '../support/attack4-der.js';

const dir = mkdtempSync(join(tmpdir(), 'attack4-der-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let count = 0;

/** What the full path says of the file: its names, or the refusal. */
function fullPath(text: string): string[] | string {
  const file = join(dir, `cert${count++}.pem`);
  writeFileSync(file, text, 'latin1');
  try {
    return readChain({ cert: file, key: join(dir, 'none.pem') }).names;
  } catch (error) {
    return `refused: ${(error as Error).constructor.name}: ${(error as Error).message}`;
  }
}

/** The shortcut may pass (undefined); when it answers, the full path must agree exactly. */
function assertAgree(what: string, text: string): string[] | undefined {
  const quick = leafNamesFromPem(text);
  if (quick !== undefined) assert.deepEqual(fullPath(text), quick, what);
  return quick;
}

const root = d.party('Test Root');
const rootDer = d.certificate({
  subject: root.subject,
  spki: root.spki,
  issuer: root.subject,
  signer: root.key,
  extensions: [d.basic(true), d.keyUsage([5, 6])],
});
const rootPem = d.pem(rootDer);
const mid = d.party('Test Intermediate');
const midPem = d.pem(
  d.certificate({
    subject: mid.subject,
    spki: mid.spki,
    issuer: root.subject,
    signer: root.key,
    extensions: [d.basic(true, 0), d.keyUsage([0, 5, 6])],
  }),
);
const leafParty = d.party('leaf.example');

function leafPem(extensions: Buffer[], extra: Partial<d.CertOptions> = {}): string {
  return d.pem(
    d.certificate({
      subject: leafParty.subject,
      spki: leafParty.spki,
      issuer: mid.subject,
      signer: mid.key,
      extensions,
      ...extra,
    }),
  );
}

const SAN = d.san(d.dns('leaf.example'));
/** A Let's Encrypt-like leaf: every extension such a leaf carries. */
const LE_LIKE = [
  d.keyUsage([0]),
  d.extension(d.OIDS.eku, d.seq(d.oid('1.3.6.1.5.5.7.3.1'), d.oid('1.3.6.1.5.5.7.3.2'))),
  d.basic(false),
  d.extension(d.OIDS.skid, d.octets(Buffer.alloc(20, 7))),
  d.extension(d.OIDS.akid, d.seq(d.tlv(0x80, Buffer.alloc(20, 9)))),
  d.extension(
    '1.3.6.1.5.5.7.1.1',
    d.seq(d.seq(d.oid('1.3.6.1.5.5.7.48.2'), d.uri('http://r10.i.lencr.org/'))),
  ),
  d.extension('2.5.29.32', d.seq(d.seq(d.oid('2.23.140.1.2.1')))),
  d.extension('2.5.29.31', d.seq(d.seq(d.tlv(0xa0, d.tlv(0xa0, d.uri('http://r10.c.lencr.org/1.crl')))))),
  d.extension('1.3.6.1.4.1.11129.2.4.2', d.octets(Buffer.alloc(40, 1))),
];

describe('leafNamesFromPem agrees with readChain', () => {
  it('still answers for ordinary chains (the shortcut is kept)', () => {
    for (const text of [
      leafPem([SAN]) + midPem,
      leafPem([...LE_LIKE, d.san(d.dns('leaf.example'), d.dns('WWW.leaf.example.'))]) + midPem + rootPem,
      midPem + leafPem([SAN]),
      (leafPem([SAN]) + midPem).replaceAll('\n', '\r\n'),
    ])
      assert.ok(assertAgree('ordinary', text) !== undefined, 'an answer');
  });

  it('a subjectAltName OpenSSL cannot decode: the full path reads the CN (a missed renewal otherwise)', () => {
    const cn = { subject: d.name('mapped.example') };
    assertAgree(
      'unknown GeneralName tag',
      leafPem([d.san(d.dns('a.example'), d.tlv(0x89, Buffer.from('zz')))], cn) + midPem,
    );
    assertAgree(
      'otherName not constructed',
      leafPem([d.san(d.dns('a.example'), d.tlv(0x80, Buffer.from('zz')))], cn) + midPem,
    );
    assertAgree('empty subjectAltName', leafPem([d.extension(d.OIDS.san, d.seq()), SAN], cn) + midPem);
  });

  it('a dNSName in constructed (BER) form: OpenSSL reads it, so must the shortcut or it must pass', () => {
    const ber = d.tlv(0xa2, d.tlv(0x16, Buffer.from('mapped.example')));
    assertAgree('constructed dNSName', leafPem([d.san(d.dns('a.example'), ber)]) + midPem);
  });

  it('two subjectAltName extensions: OpenSSL shows the first only', () => {
    assertAgree('two SANs', leafPem([d.san(d.dns('a.example')), d.san(d.dns('b.example'))]) + midPem);
  });

  it('a certificate claiming cA that OpenSSL does not take for a CA: the leaf OpenSSL picks differs', () => {
    const x = d.party('X');
    const self = (extensions: Buffer[]) =>
      d.pem(
        d.certificate({ subject: x.subject, spki: x.spki, issuer: x.subject, signer: x.key, extensions }),
      );
    const plain = leafPem([SAN]) + midPem;
    assertAgree('cA with keyUsage but no keyCertSign', plain + self([d.basic(true), d.keyUsage([0])]));
    assertAgree('basicConstraints twice', plain + self([d.basic(true), d.basic(true)]));
    assertAgree('negative pathLen', plain + self([d.basic(true, -1)]));
    assertAgree('cA BOOLEAN 0x01', plain + self([d.extension(d.OIDS.bc, d.seq(d.tlv(1, Buffer.from([1]))))]));
    // The leaf-switch: a non-CA leaf L signs X, which claims cA but may not sign certificates: OpenSSL takes X.
    const l = d.party('L');
    const lPem = d.pem(
      d.certificate({
        subject: l.subject,
        spki: l.spki,
        issuer: mid.subject,
        signer: mid.key,
        extensions: [d.san(d.dns('unmapped.example'))],
      }),
    );
    const xPem = d.pem(
      d.certificate({
        subject: x.subject,
        spki: x.spki,
        issuer: l.subject,
        signer: l.key,
        extensions: [d.basic(true), d.keyUsage([0]), d.san(d.dns('mapped.example'))],
      }),
    );
    assertAgree('leaf switch', lPem + xPem + midPem);
    // L signs a real CA certificate: OpenSSL finds no leaf at all.
    const yPem = d.pem(
      d.certificate({
        subject: x.subject,
        spki: x.spki,
        issuer: d.name('l'),
        signer: l.key,
        extensions: [d.basic(true)],
      }),
    );
    assertAgree('the leaf issued a CA (names differ only in case)', lPem + yPem + midPem);
  });

  it('names and OIDs OpenSSL refuses to parse', () => {
    const rdn = (value: Buffer, id = d.oid('2.5.4.3')) => d.seq(d.set(d.seq(id, value)));
    assertAgree(
      'BMPString of odd length',
      leafPem([SAN], { subject: rdn(d.tlv(0x1e, Buffer.from('abc'))) }) + midPem,
    );
    assertAgree('INTEGER as a name value', leafPem([SAN], { subject: rdn(d.int(5)) }) + midPem);
    assertAgree(
      'RDN not a SET',
      leafPem([SAN], { subject: d.seq(d.seq(d.seq(d.oid('2.5.4.3'), d.utf8('x')))) }) + midPem,
    );
    const badOid = d.tlv(6, Buffer.from([0x55, 0x80, 0x03]));
    assertAgree('bad OID in the subject', leafPem([SAN], { subject: rdn(d.utf8('x'), badOid) }) + midPem);
    assertAgree('bad OID in the issuer', leafPem([SAN], { issuer: rdn(d.utf8('x'), badOid) }) + midPem);
    assertAgree(
      'bad UTF-8 in the subject',
      leafPem([SAN], { subject: rdn(d.tlv(0x0c, Buffer.from([0xc3, 0x28]))) }) + midPem,
    );
    assertAgree(
      'bad extension OID',
      leafPem([SAN, d.seq(d.tlv(6, Buffer.from([0x80, 1])), d.octets(d.seq()))]) + midPem,
    );
  });

  it('a leaf key OpenSSL cannot decode is refused the full way (exit 3), not a crash and not exit 0', () => {
    const point = leafParty.spki.subarray(leafParty.spki.length - 65);
    const ec = (params: Buffer[], content: Buffer, unused = 0) =>
      d.seq(d.seq(d.oid('1.2.840.10045.2.1'), ...params), d.bits(content, unused));
    const off = Buffer.from(point);
    off[64] = (off[64] as number) ^ 1;
    const cases: [string, Buffer][] = [
      ['EC point off the curve', ec([d.oid('1.2.840.10045.3.1.7')], off)],
      ['EC P-256 point on secp256k1', ec([d.oid('1.3.132.0.10')], point)],
      ['EC explicit parameters', ec([d.seq(d.int(1))], point)],
      ['EC no parameters', ec([], point)],
      ['EC unknown curve', ec([d.oid('1.2.3.4.5')], Buffer.from([4, 1, 2, 3]))],
      [
        'RSA garbage',
        d.seq(
          d.seq(d.oid('1.2.840.113549.1.1.1'), d.tlv(5, Buffer.alloc(0))),
          d.bits(Buffer.from('garbage')),
        ),
      ],
    ];
    for (const [what, spki] of cases) {
      const text = leafPem([SAN], { spki }) + midPem;
      assertAgree(what, text);
      const full = fullPath(text);
      assert.match(String(full), /^refused: CertificateError: certificate .* public key/, what);
    }
  });

  it('PEM layouts OpenSSL refuses', () => {
    const base = leafPem([SAN]);
    const lines = base.split('\n').slice(1, -2);
    const block = (body: string[], nl = '\n') =>
      `-----BEGIN CERTIFICATE-----${nl}${body.join(nl)}${nl}-----END CERTIFICATE-----${nl}`;
    const cases: [string, string][] = [
      ['a blank line inside', block([lines[0] as string, '', ...lines.slice(1)])],
      ['a blank line before END', base.replace('\n-----END', '\n\n-----END')],
      ['a no-break space', block(lines.map((line) => `${line.slice(0, 9)}\u00a0${line.slice(9)}`))],
      ['a vertical tab', block(lines.map((line) => `${line.slice(0, 9)}\v${line.slice(9)}`))],
      ['a form feed', block(lines.map((line) => `${line.slice(0, 9)}\f${line.slice(9)}`))],
      ['CR line ends', block(lines, '\r')],
      [
        'data on the BEGIN line',
        base.replace('-----BEGIN CERTIFICATE-----\n', '-----BEGIN CERTIFICATE-----'),
      ],
      ['END on the last data line', base.replace('\n-----END', '-----END')],
    ];
    for (const [what, text] of cases) assertAgree(what, text + midPem);
  });

  it('over many generated chains (extensions, encodings and layouts mixed at random), never disagrees', () => {
    let seed = 0x5eed;
    /** mulberry32: deterministic, so that a failing round can be replayed. */
    const random = (n: number) => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) % n;
    };
    const pick = <T>(list: readonly T[]): T => list[random(list.length)] as T;
    const x = d.party('other');
    const sanEntries = [
      () => d.dns('host.example'),
      () => d.dns('Mixed.Example.'),
      () => d.dns('*.wild.example'),
      () => d.dns('a*.example'),
      () => d.dns('-bad-.example'),
      () => d.dns(''),
      () => d.dns('x'.repeat(64) + '.example'),
      () => d.dns(`${'a'.repeat(60)}.`.repeat(5)),
      () => d.dns('nul\u0000.example'),
      () => d.dns('xn--bcher-kva.example'),
      () => d.dns('ünïcode.example'),
      () => d.ip([127, 0, 0, 1]),
      () => d.ip([1, 2, 3]),
      () => d.uri('http://x/,DNS:mapped.example'),
      () => d.email('a@b.example'),
      () => d.tlv(0xa4, d.name('dir')),
      () => d.tlv(0x88, Buffer.from([0x2a, 0x03])),
      () => d.tlv(0x88, Buffer.from([0x80])),
      () => d.tlv(0xa2, d.tlv(0x16, Buffer.from('ber.example'))),
    ];
    const extensionPool = [
      () => d.san(...Array.from({ length: 1 + random(3) }, () => pick(sanEntries)())),
      () => d.san(...Array.from({ length: 1 + random(3) }, () => pick(sanEntries)())),
      () => d.extension(d.OIDS.san, d.seq(pick(sanEntries)()), true),
      () => d.basic(false),
      () => d.basic(true),
      () => d.basic(false, 2),
      () => d.keyUsage([0]),
      () => d.keyUsage([5]),
      () => d.keyUsage([]),
      ...LE_LIKE.map((extension) => () => extension),
      () => d.extension(d.OIDS.skid, d.int(3)),
      () => d.extension(d.OIDS.akid, d.seq(d.tlv(0xa1, d.dns('x')))),
      () => d.extension(d.OIDS.eku, d.seq()),
      () => d.extension('2.5.29.30', d.seq(d.tlv(0xa0, d.seq(d.tlv(0x80, d.dns('x.example')))))),
      () => d.extension('2.5.29.31', d.seq(d.seq())),
      () => d.extension('1.3.6.1.5.5.7.1.14', d.seq(d.seq(d.oid('1.3.6.1.5.5.7.21.1')))),
      () => d.extension('1.2.3.4', d.seq(), random(2) === 0),
      () => d.extension('2.16.840.1.113730.1.1', d.bits(Buffer.from([0x04]), 2)),
    ];
    const keys = [
      leafParty,
      leafParty,
      d.party('rsa', 'rsa'),
      d.party('ed', 'ed25519'),
      d.party('dsa', 'dsa'),
    ];
    let answered = 0;
    for (let round = 0; round < 1000; round += 1) {
      const key = pick(keys);
      // Mostly near-ordinary leaves (a plain subjectAltName, some of a public leaf's extensions), with 0-2 odd ones.
      const extensions = [
        ...LE_LIKE.filter(() => random(2) === 0),
        d.san(...Array.from({ length: 1 + random(3) }, () => pick(sanEntries.slice(0, 4))())),
        ...Array.from({ length: random(3) }, () => pick(extensionPool)()),
      ];
      for (let index = extensions.length - 1; index > 0; index -= 1) {
        const other = random(index + 1);
        [extensions[index], extensions[other]] = [extensions[other] as Buffer, extensions[index] as Buffer];
      }
      const leaf = d.pem(
        d.certificate({
          subject: pick([d.name('cn.example'), d.name('CN.Example', 0x13), d.name('mapped.example', 0x16)]),
          spki: key.spki,
          issuer: pick([mid.subject, d.name('test intermediate'), x.subject]),
          signer: mid.key,
          extensions: random(8) === 0 ? undefined : extensions,
          version: pick([undefined, undefined, undefined, null, 1]),
          ...(random(10) === 0 ? { subjectUid: Buffer.from([0, 1]) } : {}),
        }),
      );
      const others = [
        midPem,
        rootPem,
        leafPem([SAN]),
        d.pem(
          d.certificate({
            subject: x.subject,
            spki: x.spki,
            issuer: x.subject,
            signer: x.key,
            extensions: [pick(extensionPool)(), d.basic(true)],
          }),
        ),
      ];
      const chain = [leaf, ...Array.from({ length: random(3) }, () => pick(others))];
      if (random(3) === 0) chain.reverse();
      let text = chain.join(pick(['', '\n', 'comment\n']));
      if (random(5) === 0) text = text.replaceAll('\n', '\r\n');
      if (assertAgree(`round ${round}`, text) !== undefined) answered += 1;
    }
    assert.ok(answered > 50, `the shortcut answered ${answered} times`);
  });
});
