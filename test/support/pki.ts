/**
 * A throwaway PKI for tests and the demo: a root CA, an intermediate, and leaf certificates with RSA or ECDSA
 * keys, written as Certbot lays out a lineage. Keys are PKCS#8 PEM (`BEGIN PRIVATE KEY`), as Certbot 2.x writes.
 */
import { webcrypto, createHash } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync, rmSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
const subtle = webcrypto.subtle;

export type LeafKeyType = 'ec' | 'rsa';

interface Issuer {
  name: string;
  keys: CryptoKeyPair;
  cert: x509.X509Certificate;
}

export interface Pki {
  root: Issuer;
  intermediate: Issuer;
  rootPem: string;
  intermediatePem: string;
}

export interface Leaf {
  certPem: string;
  chainPem: string;
  fullchainPem: string;
  keyPem: string;
  /** SHA-256 of the leaf's DER, lowercase hex. */
  fingerprint: string;
  notAfter: Date;
}

export interface LeafOptions {
  names: string[];
  /** IP addresses for the subjectAltName too (a test server on 127.0.0.1). */
  ips?: string[];
  keyType?: LeafKeyType;
  notBefore?: Date;
  notAfter?: Date;
}

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
} as const;

function generate(keyType: LeafKeyType): Promise<CryptoKeyPair> {
  return subtle.generateKey(keyType === 'ec' ? EC : RSA, true, ['sign', 'verify']);
}

function signingAlgorithm(keys: CryptoKeyPair): webcrypto.Algorithm | webcrypto.EcdsaParams {
  return keys.privateKey.algorithm.name === 'ECDSA' ? { name: 'ECDSA', hash: 'SHA-256' } : RSA;
}

async function pkcs8Pem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await subtle.exportKey('pkcs8', key), 'PRIVATE KEY') + '\n';
}

export async function createPki(): Promise<Pki> {
  const day = 86_400_000;
  const rootKeys = await generate('ec');
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=incap-cert test root',
    keys: rootKeys,
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + 3650 * day),
    signingAlgorithm: signingAlgorithm(rootKeys),
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const intermediateKeys = await generate('ec');
  const intermediate = await x509.X509CertificateGenerator.create({
    subject: 'CN=incap-cert test intermediate',
    issuer: root.subject,
    publicKey: intermediateKeys.publicKey,
    signingKey: rootKeys.privateKey,
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + 3650 * day),
    signingAlgorithm: signingAlgorithm(rootKeys),
    extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
  });
  return {
    root: { name: root.subject, keys: rootKeys, cert: root },
    intermediate: { name: intermediate.subject, keys: intermediateKeys, cert: intermediate },
    rootPem: root.toString('pem') + '\n',
    intermediatePem: intermediate.toString('pem') + '\n',
  };
}

/** A leaf like Let's Encrypt's: 90 days, the names in subjectAltName, signed by the intermediate. */
export async function issueLeaf(pki: Pki, options: LeafOptions): Promise<Leaf> {
  const keys = await generate(options.keyType ?? 'ec');
  const notBefore = options.notBefore ?? new Date(Date.now() - 3_600_000);
  // Whole seconds: X.509 times carry no milliseconds.
  const notAfter = new Date(
    Math.floor((options.notAfter ?? new Date(Date.now() + 90 * 86_400_000)).getTime() / 1000) * 1000,
  );
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${options.names[0] ?? 'no-name'}`,
    issuer: pki.intermediate.name,
    publicKey: keys.publicKey,
    signingKey: pki.intermediate.keys.privateKey,
    notBefore,
    notAfter,
    signingAlgorithm: signingAlgorithm(pki.intermediate.keys),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      // As every CA's leaf carries it: ARI's certificate identifier is built from it (src/ari/identifier.ts).
      await x509.AuthorityKeyIdentifierExtension.create(pki.intermediate.keys.publicKey),
      new x509.SubjectAlternativeNameExtension([
        ...options.names.map((value) => ({ type: 'dns' as const, value })),
        ...(options.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
      ]),
    ],
  });
  const certPem = cert.toString('pem') + '\n';
  return {
    certPem,
    chainPem: pki.intermediatePem,
    fullchainPem: certPem + pki.intermediatePem,
    keyPem: await pkcs8Pem(keys.privateKey),
    fingerprint: createHash('sha256').update(new Uint8Array(cert.rawData)).digest('hex'),
    notAfter,
  };
}

/**
 * Writes a lineage exactly as Certbot does: `archive/NAME/{cert,chain,fullchain,privkey}N.pem` and
 * `live/NAME/*.pem` as relative symlinks to them (privkey 0600). Calling it again with a higher version renews.
 * Returns the live folder.
 */
export function writeCertbotLineage(configDir: string, name: string, leaf: Leaf, version = 1): string {
  const archive = join(configDir, 'archive', name);
  const live = join(configDir, 'live', name);
  mkdirSync(archive, { recursive: true, mode: 0o700 });
  mkdirSync(live, { recursive: true });
  const files: Record<string, string> = {
    cert: leaf.certPem,
    chain: leaf.chainPem,
    fullchain: leaf.fullchainPem,
    privkey: leaf.keyPem,
  };
  for (const [kind, pem] of Object.entries(files)) {
    const target = join(archive, `${kind}${version}.pem`);
    writeFileSync(target, pem, { mode: kind === 'privkey' ? 0o600 : 0o644 });
    chmodSync(target, kind === 'privkey' ? 0o600 : 0o644);
    const link = join(live, `${kind}.pem`);
    rmSync(link, { force: true });
    symlinkSync(join('..', '..', 'archive', name, `${kind}${version}.pem`), link);
  }
  return live;
}
