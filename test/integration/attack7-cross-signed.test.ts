/**
 * Chains as CAs really send them, through sync and verify against the fake edge: the leaf with a cross-signed
 * intermediate (the intermediate's key and name, signed by another root, as Let's Encrypt's R3 was by DST Root CA X3),
 * with both versions of the intermediate, and with the cross-signed root after the intermediate. The edge serves the
 * leaf's issuer in each: uploaded, and verify says served, exit 0.
 */
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { afterEach, before, describe, it } from 'node:test';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createEdgeWorld } from '../support/edge-world.js';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf, type Pki } from '../support/pki.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const DAY = 86_400_000;
const SITE = '1234567';
let pki: Pki;
let leaf: Leaf;
let crossIntermediate: string;
let crossRoot: string;
before(async () => {
  pki = await createPki();
  const other = await createPki();
  leaf = await issueLeaf(pki, { names: ['example.com'] });
  const algorithm = { name: 'ECDSA', hash: 'SHA-256' };
  const signed = async (subject: string, publicKey: webcrypto.CryptoKey) =>
    (
      await x509.X509CertificateGenerator.create({
        subject,
        issuer: other.root.name,
        publicKey,
        signingKey: other.root.keys.privateKey,
        notBefore: new Date(Date.now() - DAY),
        notAfter: new Date(Date.now() + 365 * DAY),
        signingAlgorithm: algorithm,
        extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
      })
    ).toString('pem') + '\n';
  crossIntermediate = await signed(pki.intermediate.name, pki.intermediate.keys.publicKey);
  crossRoot = await signed(pki.root.name, pki.root.keys.publicKey);
});
let closing: (() => Promise<void>) | undefined;
afterEach(async () => {
  await closing?.();
  closing = undefined;
});

describe('a cross-signed chain', () => {
  const chains: [string, () => string][] = [
    ['the leaf and the cross-signed intermediate', () => leaf.certPem + crossIntermediate],
    ['the leaf, the intermediate and its cross-signed version', () => leaf.fullchainPem + crossIntermediate],
    ['the leaf, the intermediate and the cross-signed root', () => leaf.fullchainPem + crossRoot],
  ];
  for (const [what, chain] of chains) {
    it(`${what}: sync uploads it whole, verify says served, exit 0`, async () => {
      const made = await createEdgeWorld(SITE);
      closing = made.close;
      const { w, le, live, env } = made;
      writeCertbotLineage(le, 'example.com', { ...leaf, fullchainPem: chain() });
      const sync = await runCli(['sync', '--live-dir', live], env);
      assert.equal(sync.code, 0, sync.stderr);
      assert.equal(w.fake.serving(SITE)?.fingerprint, leaf.fingerprint);
      assert.equal(w.fake.serving(SITE)?.chainLength, chain().match(/BEGIN CERTIFICATE/g)?.length);
      const verify = await runCli(['verify', '--live-dir', live], env);
      assert.equal(verify.code, 0, verify.stderr);
      assert.match(verify.stdout + verify.stderr, /served/);
      assert.doesNotMatch(verify.stderr, /wrong|without the certificate that issued it/);
    });
  }
});
