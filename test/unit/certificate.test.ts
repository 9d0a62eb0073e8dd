import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { readCertificate } from '../../src/certificate/bundle.js';
import { readChain } from '../../src/certificate/chain.js';
import { lineageFiles } from '../../src/certificate/lineage.js';
import type { CertificateFiles } from '../../src/model/certificate.js';
import { CertificateError } from '../../src/model/errors.js';
import { uploadForm } from '../../src/imperva/upload.js';
import * as d from '../support/der-writer.js';
import { tempDir } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf, type Pki } from '../support/pki.js';

let pki: Pki;
let ec: Leaf;
let rsa: Leaf;
let other: Leaf;
before(async () => {
  pki = await createPki();
  ec = await issueLeaf(pki, { names: ['Example.com', 'www.example.com', '*.example.com'], keyType: 'ec' });
  rsa = await issueLeaf(pki, { names: ['rsa.example.com'], keyType: 'rsa' });
  other = await issueLeaf(pki, { names: ['other.example.com'], keyType: 'ec' });
});

function files(cert: string, key: string): CertificateFiles {
  const dir = tempDir();
  writeFileSync(join(dir, 'cert.pem'), cert);
  writeFileSync(join(dir, 'key.pem'), key, { mode: 0o600 });
  return { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

function certificateError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof CertificateError, String(error));
    assert.equal(error.exitCode, 3);
    return error.message;
  }
  assert.fail('expected a CertificateError');
}

describe('readCertificate', () => {
  it('reads a Certbot lineage through its symlinks: ECDSA → ECC', () => {
    const live = writeCertbotLineage(tempDir(), 'example.com', ec);
    const bundle = readCertificate(lineageFiles(live));
    assert.equal(bundle.keyType, 'ECC');
    assert.equal(bundle.fingerprint, ec.fingerprint);
    assert.deepEqual(bundle.names, ['example.com', 'www.example.com', '*.example.com']);
    assert.equal(bundle.chainLength, 2);
    assert.equal(bundle.notAfter.getTime(), ec.notAfter.getTime());
    assert.ok(bundle.certPem.equals(Buffer.from(ec.fullchainPem)));
  });

  it('decides RSA from the parsed key, though the PEM header is the same PKCS#8 one', () => {
    assert.match(rsa.keyPem, /^-----BEGIN PRIVATE KEY-----/);
    assert.match(ec.keyPem, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(readCertificate(files(rsa.fullchainPem, rsa.keyPem)).keyType, 'RSA');
  });

  it('takes traditional SEC1 and PKCS#1 keys too', () => {
    const sec1 = createPrivateKey(ec.keyPem).export({ format: 'pem', type: 'sec1' }).toString();
    assert.equal(readCertificate(files(ec.fullchainPem, sec1)).keyType, 'ECC');
    const pkcs1 = createPrivateKey(rsa.keyPem).export({ format: 'pem', type: 'pkcs1' }).toString();
    assert.equal(readCertificate(files(rsa.fullchainPem, pkcs1)).keyType, 'RSA');
  });

  it('encodes exactly the file bytes, in standard base64 without line breaks', () => {
    const bundle = readCertificate(files(ec.fullchainPem, ec.keyPem));
    const form = uploadForm('123', bundle);
    assert.deepEqual(Object.keys(form).sort(), [
      'auth_type',
      'certificate',
      'input_hash',
      'private_key',
      'site_id',
    ]);
    assert.equal(form.site_id, '123');
    assert.equal(form.auth_type, 'ECC');
    assert.equal(form.input_hash, ec.fingerprint);
    assert.equal(Buffer.from(form.certificate ?? '', 'base64').toString(), ec.fullchainPem);
    assert.equal(Buffer.from(form.private_key ?? '', 'base64').toString(), ec.keyPem);
    assert.match(form.certificate ?? '', /^[A-Za-z0-9+/]+=*$/);
  });

  it('completes a leaf-only certificate with the issuer file when given (lego 4)', () => {
    const f = files(ec.certPem, ec.keyPem);
    const issuer = join(tempDir(), 'issuer.pem');
    writeFileSync(issuer, ec.chainPem);
    const bundle = readCertificate({ ...f, issuer });
    assert.equal(bundle.chainLength, 2);
    assert.equal(bundle.certPem.toString(), ec.fullchainPem);
    assert.equal(readCertificate(f).chainLength, 1);
  });
});

describe("the leaf's names (what a hook run maps to sites)", () => {
  it('are the subjectAltName DNS names, normalized and deduplicated, in certificate order, whatever the chain order', async () => {
    const cases: { names: string[]; ips?: string[]; keyType?: 'ec' | 'rsa'; expected: string[] }[] = [
      { names: ['*.example.com', 'example.com'], keyType: 'rsa', expected: ['*.example.com', 'example.com'] },
      {
        names: ['WWW.Example.COM', 'www.example.com', 'api.example.com.'],
        expected: ['www.example.com', 'api.example.com'],
      },
      {
        names: ['xn--bcher-kva.example', 'a-b_c.example.org'],
        ips: ['127.0.0.1', '::1'],
        // An underscore is no host name character: no config key can name it.
        expected: ['xn--bcher-kva.example'],
      },
    ];
    const many = Array.from({ length: 100 }, (_, index) => `host${index}.example.net`);
    cases.push({ names: many, expected: many });
    for (const { expected, ...options } of cases) {
      const leaf = await issueLeaf(pki, options);
      for (const pem of [
        leaf.fullchainPem,
        leaf.certPem,
        `${pki.intermediatePem}${leaf.certPem}`,
        `text before\n${leaf.certPem}\r\n${pki.intermediatePem}${pki.rootPem}trailing text`,
      ]) {
        assert.deepEqual(readChain(files(pem, leaf.keyPem)).names, expected, options.names[0]);
      }
    }
  });

  it('are the subject CN when the leaf has no subjectAltName', () => {
    const leaf = d.party('cn.example');
    const issuer = d.party('Test Intermediate');
    const pem = d.pem(
      d.certificate({
        subject: d.name('CN.Example'),
        spki: leaf.spki,
        issuer: issuer.subject,
        signer: issuer.key,
        extensions: [d.basic(false)],
      }),
    );
    assert.deepEqual(readChain(files(pem, d.keyPem(leaf.key))).names, ['cn.example']);
  });
});

describe('readCertificate refuses, naming the file', () => {
  it('a missing lineage folder', () => {
    const dir = join(tempDir(), 'live', 'gone.example');
    assert.equal(
      certificateError(() => lineageFiles(dir)),
      `lineage folder ${dir} does not exist or is not a folder`,
    );
  });

  it('a missing certificate file', () => {
    const f = files(ec.fullchainPem, ec.keyPem);
    rmSync(f.cert);
    assert.equal(
      certificateError(() => readChain(f)),
      `certificate ${f.cert} does not exist`,
    );
  });

  it('a dangling key symlink', () => {
    const live = writeCertbotLineage(tempDir(), 'example.com', ec);
    rmSync(join(live, '..', '..', 'archive', 'example.com', 'privkey1.pem'));
    const f = lineageFiles(live);
    assert.equal(
      certificateError(() => readCertificate(f)),
      `private key ${f.key} is a dangling symlink (its target ../../archive/example.com/privkey1.pem does not exist)`,
    );
  });

  it('a folder where a file should be', () => {
    const f = files(ec.fullchainPem, ec.keyPem);
    rmSync(f.key);
    mkdirSync(f.key);
    assert.equal(
      certificateError(() => readCertificate(f)),
      `private key ${f.key} is a folder, not a file`,
    );
  });

  const cases: [string, () => CertificateFiles, (f: CertificateFiles) => string][] = [
    [
      'a certificate that is not PEM',
      () => files('hello\n', ec.keyPem),
      (f) => `certificate ${f.cert} is not a PEM certificate`,
    ],
    [
      'a PEM block that is not a certificate',
      () => files('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', ec.keyPem),
      (f) => `certificate ${f.cert} holds a PEM block that does not parse as a certificate (block 1)`,
    ],
    [
      'swapped certificate and key',
      () => files(ec.keyPem, ec.fullchainPem),
      (f) => `certificate ${f.cert} holds a private key (are the certificate and key swapped?)`,
    ],
    [
      'a key that is not PEM',
      () => files(ec.fullchainPem, 'nope'),
      (f) => `private key ${f.key} is not a PEM private key`,
    ],
    [
      'a key that does not parse',
      () => files(ec.fullchainPem, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'),
      (f) => `private key ${f.key} does not parse as a private key`,
    ],
    [
      'a key that does not match',
      () => files(ec.fullchainPem, other.keyPem),
      (f) => `private key ${f.key} does not match certificate ${f.cert}`,
    ],
    [
      'an encrypted key',
      () =>
        files(
          ec.fullchainPem,
          createPrivateKey(ec.keyPem)
            .export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'secret' })
            .toString(),
        ),
      (f) => `private key ${f.key} is encrypted; Imperva needs the key without a passphrase`,
    ],
  ];
  for (const [title, make, message] of cases) {
    it(title, () => {
      const f = make();
      assert.equal(
        certificateError(() => readCertificate(f)),
        message(f),
      );
    });
  }

  it('an expired certificate', async () => {
    const expired = await issueLeaf(pki, {
      names: ['old.example.com'],
      notBefore: new Date(Date.now() - 100 * 86_400_000),
      notAfter: new Date(Date.now() - 10 * 86_400_000),
    });
    const f = files(expired.fullchainPem, expired.keyPem);
    assert.equal(
      certificateError(() => readCertificate(f)),
      `certificate ${f.cert} expired on ${expired.notAfter.toISOString()}`,
    );
  });

  it('a key type Imperva does not take', () => {
    const ed25519 = generateKeyPairSync('ed25519')
      .privateKey.export({ format: 'pem', type: 'pkcs8' })
      .toString();
    const f = files(ec.fullchainPem, ed25519);
    assert.equal(
      certificateError(() => readCertificate(f)),
      `private key ${f.key} has a key of type ed25519; Imperva takes RSA or ECDSA keys only`,
    );
  });
});
