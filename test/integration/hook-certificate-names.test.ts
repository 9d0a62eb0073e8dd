/**
 * A Certbot deploy hook run decides from the leaf's names whether there is anything to upload, and "no site is
 * mapped" ends the run with exit 0: those names must be the ones OpenSSL reads, and a file OpenSSL refuses must be
 * refused (exit 3, one line) even for a lineage mapped to no site — never a quiet "nothing to upload". The
 * certificates here are built byte by byte (test/support/der-writer.ts): unusual but valid encodings, keys OpenSSL
 * cannot decode.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { assertOneLineError, createWorld, type World } from '../support/world.js';
import * as d from '../support/der-writer.js';

let world: World;
before(async () => {
  world = await createWorld({ sites: { '1234567': 'mapped.example' }, map: { 'mapped.example': 1234567 } });
});
after(() => world.close());

const root = d.party('Test Root');
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
const leaf = (extensions: Buffer[], extra: Partial<d.CertOptions> = {}) =>
  d.pem(
    d.certificate({
      subject: leafParty.subject,
      spki: leafParty.spki,
      issuer: mid.subject,
      signer: mid.key,
      extensions,
      ...extra,
    }),
  );

let lineages = 0;
/** A Certbot-like live folder, and the hook run for it. */
async function hook(fullchain: string, key = leafParty.key) {
  const lineage = join(world.dir, 'live', `lineage${lineages++}`);
  mkdirSync(lineage, { recursive: true });
  writeFileSync(join(lineage, 'fullchain.pem'), fullchain, 'latin1');
  writeFileSync(join(lineage, 'privkey.pem'), d.keyPem(key), { mode: 0o600 });
  const before = world.fake.acceptedUploads().length;
  const result = await runCli([], { ...world.env, RENEWED_LINEAGE: lineage });
  return { ...result, uploads: world.fake.acceptedUploads().slice(before), lineage };
}

describe('hook run: the names that decide are the ones OpenSSL reads', () => {
  it('uploads a certificate whose mapped name is in an unusual but valid encoding', async () => {
    const cases: [string, string][] = [
      [
        'a subjectAltName OpenSSL cannot decode (the subject CN is mapped)',
        leaf([d.san(d.dns('a.example'), d.tlv(0x89, Buffer.from('zz')))], {
          subject: d.name('mapped.example'),
        }),
      ],
      [
        'a dNSName in constructed form',
        leaf([d.san(d.dns('a.example'), d.tlv(0xa2, d.tlv(0x16, Buffer.from('mapped.example'))))]),
      ],
      ['a name in upper case with a trailing dot', leaf([d.san(d.dns('MAPPED.Example.'))])],
    ];
    for (const [what, pem] of cases) {
      const run = await hook(pem + midPem);
      assert.equal(run.code, 0, `${what}: ${run.stderr}`);
      assert.match(run.stdout, /uploaded mapped\.example → site 1234567/, what);
      assert.deepEqual(
        run.uploads.map((upload) => upload.siteId),
        ['1234567'],
        what,
      );
    }
  });

  it('uploads the certificate OpenSSL takes for the leaf, whatever the order and flags of the others', async () => {
    const signer = d.party('L');
    const other = d.party('X');
    const first = d.pem(
      d.certificate({
        subject: signer.subject,
        spki: signer.spki,
        issuer: mid.subject,
        signer: mid.key,
        extensions: [d.san(d.dns('unmapped.example'))],
      }),
    );
    // Claims cA but may not sign certificates: no CA to OpenSSL, and signed by `first`, which is then no leaf.
    const second = d.pem(
      d.certificate({
        subject: other.subject,
        spki: other.spki,
        issuer: signer.subject,
        signer: signer.key,
        extensions: [d.basic(true), d.keyUsage([0]), d.san(d.dns('mapped.example'))],
      }),
    );
    const run = await hook(first + second + midPem, other.key);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      run.uploads.map((upload) => upload.siteId),
      ['1234567'],
    );
  });

  it('names what OpenSSL shows: the first of two subjectAltName extensions', async () => {
    const run = await hook(leaf([d.san(d.dns('a.example')), d.san(d.dns('b.example'))]) + midPem);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'no Imperva site is mapped to a.example; nothing to upload');
    assert.equal(run.uploads.length, 0);
  });
});

describe('hook run: a file OpenSSL refuses is refused, exit 3, even for a lineage mapped to no site', () => {
  it('a second leaf, or a PEM block that does not parse', async () => {
    const self = d.party('X');
    const cases: [string, string, RegExp][] = [
      [
        'a certificate claiming cA that may not sign, beside the leaf',
        leaf([d.san(d.dns('leaf.example'))]) +
          midPem +
          d.pem(
            d.certificate({
              subject: self.subject,
              spki: self.spki,
              issuer: self.subject,
              signer: self.key,
              extensions: [d.basic(true), d.keyUsage([0])],
            }),
          ),
        /holds 2 leaf certificates/,
      ],
      [
        'a blank line inside the PEM',
        leaf([d.san(d.dns('leaf.example'))]).replace('\n-----END', '\n\n-----END') + midPem,
        /does not parse as a certificate \(block 1\)/,
      ],
    ];
    for (const [what, fullchain, message] of cases) await assertRefused(what, fullchain, message);
  });

  it('a leaf public key OpenSSL cannot decode, mapped or not (not a crash, not "nothing to upload")', async () => {
    const point = leafParty.spki.subarray(leafParty.spki.length - 65);
    const ec = (params: Buffer[], content: Buffer) =>
      d.seq(d.seq(d.oid('1.2.840.10045.2.1'), ...params), d.bits(content));
    const offCurve = Buffer.from(point);
    offCurve[64] = (offCurve[64] as number) ^ 1;
    const keys: [string, Buffer][] = [
      ['an EC point off its curve', ec([d.oid('1.2.840.10045.3.1.7')], offCurve)],
      ['a P-256 point on secp256k1', ec([d.oid('1.3.132.0.10')], point)],
      ['an EC key of an unknown curve', ec([d.oid('1.2.3.4.5')], Buffer.from([4, 1, 2, 3]))],
      [
        'an RSA key that is not one',
        d.seq(
          d.seq(d.oid('1.2.840.113549.1.1.1'), d.tlv(5, Buffer.alloc(0))),
          d.bits(Buffer.from('garbage')),
        ),
      ],
    ];
    for (const [what, spki] of keys) {
      for (const name of ['leaf.example', 'mapped.example']) {
        const fullchain = leaf([d.san(d.dns(name))], { spki }) + midPem;
        await assertRefused(`${what} (${name})`, fullchain, /holds a public key that does not parse/);
      }
    }
  });
});

async function assertRefused(what: string, fullchain: string, message: RegExp): Promise<void> {
  const run = await hook(fullchain);
  assert.equal(run.code, 3, `${what}: ${run.stdout}${run.stderr}`);
  assertOneLineError(run.stderr, message);
  assert.ok(run.stderr.includes(join(run.lineage, 'fullchain.pem')), what);
  assert.equal(run.uploads.length, 0, what);
}
