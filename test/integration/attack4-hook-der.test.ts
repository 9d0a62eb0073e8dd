/**
 * A Certbot deploy hook run, with the built CLI, for certificates whose DER names (the unmapped lineage's shortcut)
 * and OpenSSL's reading differ: the run must do what reading the chain the full way does — upload a certificate
 * whose names OpenSSL maps, refuse a file OpenSSL refuses (exit 3, one line) — never "nothing to upload".
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { assertOneLineError, createWorld, type World } from '../support/world.js';
import * as d from '../support/attack4-der.js';

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

describe('hook run: the DER shortcut never decides otherwise than the full reading', () => {
  it('uploads when OpenSSL reads a mapped name the DER shortcut did not see', async () => {
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

  it('uploads the certificate OpenSSL takes for the leaf, not the one the shortcut took', async () => {
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

  it('refuses (exit 3, one line) what the full reading refuses, even for a lineage mapped to no site', async () => {
    const self = d.party('X');
    const offCurve = Buffer.from(leafParty.spki);
    offCurve[offCurve.length - 1] = (offCurve[offCurve.length - 1] as number) ^ 1;
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
      [
        'an EC key off its curve (unmapped)',
        leaf([d.san(d.dns('leaf.example'))], { spki: offCurve }) + midPem,
        /holds a public key that does not parse/,
      ],
      [
        'an EC key off its curve (mapped: was "internal error", exit 1)',
        leaf([d.san(d.dns('mapped.example'))], { spki: offCurve }) + midPem,
        /holds a public key that does not parse/,
      ],
    ];
    for (const [what, fullchain, message] of cases) {
      const run = await hook(fullchain);
      assert.equal(run.code, 3, `${what}: ${run.stdout}${run.stderr}`);
      assertOneLineError(run.stderr, message);
      assert.ok(run.stderr.includes(join(run.lineage, 'fullchain.pem')), what);
      assert.equal(run.uploads.length, 0, what);
    }
  });

  it('names what OpenSSL shows: the first of two subjectAltName extensions', async () => {
    const run = await hook(leaf([d.san(d.dns('a.example')), d.san(d.dns('b.example'))]) + midPem);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'no Imperva site is mapped to a.example; nothing to upload');
  });
});
