import assert from 'node:assert/strict';
import { X509Certificate, webcrypto } from 'node:crypto';
import { before, describe, it } from 'node:test';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { leafNamesFromPem } from '../../src/certificate/der.js';
import { certificateNames } from '../../src/certificate/read.js';
import { createPki, issueLeaf, type Pki } from '../support/pki.js';

type CryptoKeyPair = webcrypto.CryptoKeyPair;

let pki: Pki;
before(async () => {
  pki = await createPki();
});

/** The names readChain's X509 path gives for the first non-CA certificate of `pem`. */
function viaOpenSsl(pem: string): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const leaf = blocks.map((block) => new X509Certificate(block)).find((cert) => !cert.ca);
  assert.ok(leaf !== undefined);
  return certificateNames(leaf);
}

/** A certificate signed by the test intermediate, with what the test asks for. */
async function custom(
  extensions: x509.Extension[],
  keys?: CryptoKeyPair,
  subject = 'CN=custom.example',
): Promise<string> {
  const pair =
    keys ??
    (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']));
  const cert = await x509.X509CertificateGenerator.create({
    subject,
    issuer: pki.intermediate.name,
    publicKey: pair.publicKey,
    signingKey: pki.intermediate.keys.privateKey,
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 86_400_000),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions,
  });
  return `${cert.toString('pem')}\n`;
}

describe('leafNamesFromPem', () => {
  it('gives the names the OpenSSL path gives, for EC and RSA leaves, in any chain order', async () => {
    const cases: { names: string[]; ips?: string[]; keyType?: 'ec' | 'rsa' }[] = [
      { names: ['example.com', 'www.example.com'] },
      { names: ['*.example.com', 'example.com'], keyType: 'rsa' },
      { names: ['WWW.Example.COM', 'www.example.com', 'api.example.com.'] },
      { names: ['xn--bcher-kva.example', 'a-b_c.example.org'], ips: ['127.0.0.1', '::1'] },
      { names: Array.from({ length: 100 }, (_, index) => `host${index}.example.net`) },
    ];
    for (const options of cases) {
      const leaf = await issueLeaf(pki, options);
      for (const pem of [
        leaf.fullchainPem,
        leaf.certPem,
        `${pki.intermediatePem}${leaf.certPem}`,
        `text before\n${leaf.certPem}\r\n${pki.intermediatePem}${pki.rootPem}trailing text`,
      ]) {
        const names = leafNamesFromPem(pem);
        assert.ok(names !== undefined, `an answer for ${options.names[0]}`);
        assert.deepEqual(names, viaOpenSsl(pem));
      }
    }
  });

  it('gives no answer, so that the certificate is read the full way, whenever it is not sure', async () => {
    const leaf = await issueLeaf(pki, { names: ['example.com'] });
    const other = await issueLeaf(pki, { names: ['other.example'] });
    const body = leaf.certPem.split('\n').slice(1, -2).join('');
    const der = Buffer.from(body, 'base64');
    const pem = (bytes: Buffer) =>
      `-----BEGIN CERTIFICATE-----\n${bytes.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
    const unsure: [string, string][] = [
      ['no certificate at all', 'hello\n'],
      ['CA certificates only (chain.pem)', pki.intermediatePem + pki.rootPem],
      ['two leaves', leaf.certPem + other.certPem],
      ['a private key in the file', leaf.certPem + leaf.keyPem],
      ['a body that is not base64', leaf.certPem.replace(/\n([A-Za-z0-9+/]{10})/, '\n$1!')],
      ['a byte missing', pem(der.subarray(0, der.length - 1))],
      ['a byte too many', pem(Buffer.concat([der, Buffer.from([0])]))],
      [
        'a length that runs past the end',
        pem(Buffer.concat([der.subarray(0, 1), Buffer.from([0x83, 0xff, 0xff, 0xff]), der.subarray(4)])),
      ],
      [
        'no subjectAltName (the subject CN is read the full way)',
        await custom([new x509.BasicConstraintsExtension(false)]),
      ],
      [
        'a DNS name no host name has',
        await custom([new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'exa mple.com' }])]),
      ],
      [
        'an Ed25519 key (Imperva takes RSA and ECDSA)',
        await custom(
          [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'ed.example' }])],
          (await webcrypto.subtle.generateKey({ name: 'Ed25519' }, true, [
            'sign',
            'verify',
          ])) as CryptoKeyPair,
        ),
      ],
    ];
    for (const [what, text] of unsure) assert.equal(leafNamesFromPem(text), undefined, what);
    // The same custom certificate with a plain name is answered: the cases above fail for their reason.
    const plain = await custom([
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'plain.example' }]),
    ]);
    assert.deepEqual(leafNamesFromPem(plain), ['plain.example']);
  });
});
