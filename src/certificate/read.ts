import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { normalizeName } from '../names/normalize.js';
import { CertificateError } from '../errors.js';

/** Imperva keeps one custom certificate per site per key type and calls the types RSA and ECC. */
export type KeyType = 'RSA' | 'ECC';

export interface CertificateFiles {
  /** The full chain: leaf first, then intermediates (Certbot's fullchain.pem). */
  cert: string;
  key: string;
  /** Set when the chain had to be put together from a leaf file and an issuer file (lego 4). */
  issuer?: string | undefined;
  /** The live folder these came from, when they did (its symlinks always point at the newest files). */
  lineage?: string | undefined;
}

/** A certificate chain, read and parsed: enough to know which sites it is for. */
export interface CertificateChain {
  certFile: string;
  /** Exactly the bytes to upload as `certificate` (base64 of these). */
  certPem: Buffer;
  leaf: X509Certificate;
  /** How many certificates the chain holds, leaf included. */
  chainLength: number;
  /** The leaf's DNS names (subjectAltName, else the subject CN), normalized as config keys are. */
  names: string[];
  /** SHA-256 of the leaf's DER, lowercase hex: what we send as `input_hash`. */
  fingerprint: string;
  serial: string;
  notAfter: Date;
  /** From the leaf's public key; the private key must match it. */
  keyType: KeyType;
}

/** A chain with its key, checked and ready to upload. */
export interface CertificateBundle extends CertificateChain {
  keyFile: string;
  /** Exactly the bytes to upload as `private_key` (base64 of these). A secret. */
  keyPem: Buffer;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Certbot's live folder holds fullchain.pem and privkey.pem, symlinks into ../../archive. */
export function lineageFiles(dir: string): CertificateFiles {
  const folder = resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(folder).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new CertificateError(`lineage folder ${folder} does not exist or is not a folder`);
  return { cert: join(folder, 'fullchain.pem'), key: join(folder, 'privkey.pem'), lineage: folder };
}

/** Reads and checks a certificate and its key: what must hold before anything is uploaded. */
export function readCertificate(files: CertificateFiles, now: Date = new Date()): CertificateBundle {
  return withKey(readChain(files), files.key, now);
}

/**
 * Reads the certificate file (and the issuer file, when the certificate holds only the leaf): readable, PEM, every
 * block a certificate. Enough to plan; the key is read only for a certificate that has somewhere to go.
 */
export function readChain(files: CertificateFiles): CertificateChain {
  let certPem = readPemFile(files.cert, 'certificate');
  const certText = certPem.toString('latin1');
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(certText)) {
    throw new CertificateError(
      `certificate ${files.cert} holds a private key (are the certificate and key swapped?)`,
    );
  }
  let blocks: string[] = certText.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new CertificateError(`certificate ${files.cert} is not a PEM certificate`);
  if (blocks.length === 1 && files.issuer !== undefined) {
    // lego 4 may write the leaf alone; its issuer file completes the chain Imperva needs.
    const issuerPem = readPemFile(files.issuer, 'issuer certificate');
    const issuerBlocks = issuerPem.toString('latin1').match(PEM_CERT) ?? [];
    if (issuerBlocks.length === 0) {
      throw new CertificateError(`issuer certificate ${files.issuer} is not a PEM certificate`);
    }
    const separator = certPem.at(-1) === 0x0a ? '' : '\n';
    certPem = Buffer.concat([certPem, Buffer.from(separator), issuerPem]);
    blocks = [...blocks, ...issuerBlocks];
  }
  const chain = blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new CertificateError(
        `certificate ${files.cert} holds a PEM block that does not parse as a certificate (block ${index + 1})`,
      );
    }
  });
  const leaf = chain[0] as X509Certificate;
  return {
    certFile: files.cert,
    certPem,
    leaf,
    chainLength: chain.length,
    names: certificateNames(leaf),
    fingerprint: leaf.fingerprint256.replaceAll(':', '').toLowerCase(),
    serial: leaf.serialNumber.toLowerCase(),
    notAfter: new Date(leaf.validTo),
    keyType: keyTypeOf(leaf.publicKey, files.cert, 'certificate'),
  };
}

/** Reads the key and checks it against the leaf: PEM, unencrypted, RSA or EC, matching; the leaf not expired. */
export function withKey(chain: CertificateChain, keyFile: string, now: Date = new Date()): CertificateBundle {
  const keyPem = readPemFile(keyFile, 'private key');
  const key = parseKey(keyFile, keyPem);
  keyTypeOf(key, keyFile, 'private key');
  if (!chain.leaf.checkPrivateKey(key)) {
    throw new CertificateError(`private key ${keyFile} does not match certificate ${chain.certFile}`);
  }
  if (chain.notAfter.getTime() <= now.getTime()) {
    throw new CertificateError(`certificate ${chain.certFile} expired on ${chain.notAfter.toISOString()}`);
  }
  return { ...chain, keyFile, keyPem };
}

/** The leaf's DNS names in certificate order, deduplicated; the subject CN only when there are none. */
export function certificateNames(leaf: X509Certificate): string[] {
  const names: string[] = [];
  const add = (raw: string) => {
    const name = normalizeName(raw.replace(/^"|"$/g, ''));
    if (name !== undefined && !names.includes(name)) names.push(name);
  };
  for (const match of (leaf.subjectAltName ?? '').matchAll(/(?:^|,\s*)DNS:("[^"]*"|[^,]+)/g))
    add(match[1] ?? '');
  if (names.length === 0) {
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(leaf.subject)?.[1];
    if (cn !== undefined) add(cn);
  }
  return names;
}

function parseKey(file: string, pem: Buffer): KeyObject {
  const text = pem.toString('latin1');
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(text)) {
    throw new CertificateError(
      `private key ${file} is encrypted; Imperva needs the key without a passphrase`,
    );
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new CertificateError(`private key ${file} is not a PEM private key`);
  }
  try {
    return createPrivateKey(pem);
  } catch (error) {
    // Never repeat the library's message: it may quote the key. Say what we know.
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MISSING_PASSPHRASE') {
      throw new CertificateError(
        `private key ${file} is encrypted; Imperva needs the key without a passphrase`,
      );
    }
    throw new CertificateError(`private key ${file} does not parse as a private key`);
  }
}

/** Decided from the parsed key: `BEGIN PRIVATE KEY` (PKCS#8) is used for both RSA and EC. */
export function keyTypeOf(key: KeyObject, file: string, role: string): KeyType {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RSA';
    case 'ec':
      return 'ECC';
    default:
      throw new CertificateError(
        `${role} ${file} has a key of type ${key.asymmetricKeyType ?? 'unknown'}; Imperva takes RSA or ECDSA keys only`,
      );
  }
}

function readPemFile(file: string, role: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      let target: string | undefined;
      try {
        if (lstatSync(file).isSymbolicLink()) target = readlinkSync(file);
      } catch {
        // not there at all
      }
      throw new CertificateError(
        target === undefined
          ? `${role} ${file} does not exist`
          : `${role} ${file} is a dangling symlink (its target ${target} does not exist)`,
      );
    }
    if (code === 'EACCES') {
      throw new CertificateError(
        `${role} ${file} cannot be read: permission denied (run as the user Certbot runs as)`,
      );
    }
    if (code === 'EISDIR') throw new CertificateError(`${role} ${file} is a folder, not a file`);
    throw new CertificateError(`${role} ${file} cannot be read (${code ?? 'unknown error'})`);
  }
}
