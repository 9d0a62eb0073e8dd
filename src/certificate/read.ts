import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  readlinkSync,
  statSync,
  type Stats,
} from 'node:fs';
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
  /**
   * Exactly the bytes to upload as `certificate` (base64 of these): the certificate blocks only, leaf first, each
   * re-encoded as canonical PEM (64-character lines, `\n`), one `\n` after each — no other text, key or parameter
   * block, no trailing bytes, whatever the file held around them.
   */
  certPem: Buffer;
  leaf: X509Certificate;
  /** Set when the file did not hold the leaf first and the chain was put in order (leaf, its issuer, …). */
  reordered?: boolean | undefined;
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
  /** Exactly the bytes to upload as `private_key` (base64 of these): the key's one PEM block. A secret. */
  keyPem: Buffer;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
/** Any PEM block, its label captured. */
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
const PRIVATE_KEY_LABEL = /^(?:[A-Z0-9]+ )?PRIVATE KEY$/;

/**
 * Size caps: a chain of a leaf and a few intermediates is 2–10 KiB and an RSA 8192 key under 7 KiB; anything near
 * the caps is not a certificate file, and a device or a runaway file must not take memory.
 */
export const MAX_CHAIN_BYTES = 1024 * 1024;
export const MAX_KEY_BYTES = 64 * 1024;

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
  const certText = readPemFile(files.cert, 'certificate', MAX_CHAIN_BYTES).toString('latin1');
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(certText)) {
    throw new CertificateError(
      `certificate ${files.cert} holds a private key (are the certificate and key swapped?)`,
    );
  }
  const blocks = parseCertificates(files.cert, 'certificate', certText);
  if (blocks.length === 1 && files.issuer !== undefined) {
    // lego 4 may write the leaf alone; its issuer file completes the chain Imperva needs.
    const issuerText = readPemFile(files.issuer, 'issuer certificate', MAX_CHAIN_BYTES).toString('latin1');
    if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(issuerText)) {
      throw new CertificateError(`issuer certificate ${files.issuer} holds a private key`);
    }
    blocks.push(...parseCertificates(files.issuer, 'issuer certificate', issuerText));
  }
  const { chain, reordered } = orderChain(files.cert, blocks);
  const leaf = chain[0] as X509Certificate;
  return {
    certFile: files.cert,
    certPem: Buffer.from(chain.map(canonicalPem).join(''), 'latin1'),
    leaf,
    ...(reordered ? { reordered } : {}),
    chainLength: chain.length,
    names: certificateNames(leaf),
    fingerprint: leaf.fingerprint256.replaceAll(':', '').toLowerCase(),
    serial: leaf.serialNumber.toLowerCase(),
    notAfter: new Date(leaf.validTo),
    keyType: keyTypeOf(publicKeyOf(leaf, files.cert), files.cert, 'certificate'),
  };
}

/**
 * The leaf's public key. OpenSSL loads a certificate whose key it cannot decode (an EC point off its curve, an
 * unknown curve, a malformed RSA key) and fails only when the key is asked for: a certificate problem (exit 3), not
 * a crash with OpenSSL's message.
 */
function publicKeyOf(leaf: X509Certificate, file: string): KeyObject {
  try {
    return leaf.publicKey;
  } catch {
    throw new CertificateError(
      `certificate ${file} holds a public key that does not parse; Imperva takes RSA or ECDSA keys only`,
    );
  }
}

/** Every CERTIFICATE block of a file, parsed; text and other blocks around them are ignored, never uploaded. */
function parseCertificates(file: string, role: string, text: string): X509Certificate[] {
  const blocks = text.match(PEM_CERT) ?? [];
  if (blocks.length === 0) throw new CertificateError(`${role} ${file} is not a PEM certificate`);
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch {
      throw new CertificateError(
        `${role} ${file} holds a PEM block that does not parse as a certificate (block ${index + 1})`,
      );
    }
  });
}

/** Whether `issuer` signed `cert`: names (and key identifiers) match and the signature verifies. */
function issued(issuer: X509Certificate, cert: X509Certificate): boolean {
  if (issuer === cert || !cert.checkIssued(issuer)) return false;
  try {
    return cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

/**
 * Finds the leaf by structure, not by position: the one certificate that is not a CA and signed no other
 * certificate of the file (a self-signed certificate alone is its own leaf). The key is read later and only checked
 * against this leaf, so a file that lists an intermediate first is put in order — leaf, its issuer, that one's
 * issuer, then anything else in file order — instead of being planned by the intermediate's names. A file with no
 * leaf or with two is refused.
 */
function orderChain(
  file: string,
  parsed: X509Certificate[],
): { chain: X509Certificate[]; reordered: boolean } {
  // The same certificate twice (a leaf pasted into fullchain twice) is one certificate.
  const certs = parsed.filter(
    (cert, index) => parsed.findIndex((other) => other.fingerprint256 === cert.fingerprint256) === index,
  );
  const issuesNothing = certs.filter((cert) => !certs.some((other) => issued(cert, other)));
  let leaves = issuesNothing.filter((cert) => !cert.ca);
  if (leaves.length === 0 && certs.length === 1 && selfSigned(certs[0] as X509Certificate)) leaves = certs;
  if (leaves.length === 0) {
    throw new CertificateError(
      `certificate ${file} holds no leaf certificate, only CA certificates (is it chain.pem rather than fullchain.pem?)`,
    );
  }
  if (leaves.length > 1) {
    const names = leaves.map((cert) => certificateNames(cert)[0] ?? cert.serialNumber.toLowerCase());
    throw new CertificateError(
      `certificate ${file} holds ${leaves.length} leaf certificates (${names.join(', ')}); it must hold one leaf and its issuers`,
    );
  }
  const chain = [leaves[0] as X509Certificate];
  const rest = certs.filter((cert) => cert !== chain[0]);
  for (;;) {
    const last = chain.at(-1) as X509Certificate;
    const index = rest.findIndex((cert) => issued(cert, last));
    if (index < 0) break;
    chain.push(...rest.splice(index, 1));
  }
  chain.push(...rest);
  return { chain, reordered: chain.some((cert, index) => cert !== certs[index]) };
}

function selfSigned(cert: X509Certificate): boolean {
  try {
    return cert.checkIssued(cert) && cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

/** The certificate's DER as canonical PEM: 64-character base64 lines, `\n` line ends, one `\n` at the end. */
function canonicalPem(cert: X509Certificate): string {
  const body = cert.raw.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}

/**
 * Reads the key and checks it against the leaf that readChain identified: one PEM key, unencrypted, RSA or EC,
 * matching; the leaf valid now (neither expired nor not yet valid).
 */
export function withKey(chain: CertificateChain, keyFile: string, now: Date = new Date()): CertificateBundle {
  const { key, pem: keyPem } = parseKey(keyFile, readPemFile(keyFile, 'private key', MAX_KEY_BYTES));
  keyTypeOf(key, keyFile, 'private key');
  if (!chain.leaf.checkPrivateKey(key)) {
    throw new CertificateError(`private key ${keyFile} does not match certificate ${chain.certFile}`);
  }
  if (chain.notAfter.getTime() <= now.getTime()) {
    throw new CertificateError(`certificate ${chain.certFile} expired on ${chain.notAfter.toISOString()}`);
  }
  const notBefore = new Date(chain.leaf.validFrom);
  if (notBefore.getTime() > now.getTime()) {
    throw new CertificateError(
      `certificate ${chain.certFile} is not valid until ${notBefore.toISOString()} (is this host's clock right?)`,
    );
  }
  return { ...chain, keyFile, keyPem };
}

/** The leaf's DNS names in certificate order, deduplicated; the subject CN only when there are none. */
export function certificateNames(leaf: X509Certificate): string[] {
  const names: string[] = [];
  // A Set to deduplicate: a certificate may name hundreds of sites, and includes() per name is quadratic.
  const seen = new Set<string>();
  const add = (raw: string) => {
    const name = normalizeName(raw.replace(/^"|"$/g, ''));
    if (name === undefined || seen.has(name)) return;
    seen.add(name);
    names.push(name);
  };
  for (const match of (leaf.subjectAltName ?? '').matchAll(/(?:^|,\s*)DNS:("[^"]*"|[^,]+)/g))
    add(match[1] ?? '');
  if (names.length === 0) {
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(leaf.subject)?.[1];
    if (cn !== undefined) add(cn);
  }
  return names;
}

/**
 * The key file must hold exactly one PEM private key. EC PARAMETERS blocks (what `openssl ecparam -genkey` writes
 * before the key) and text outside blocks are dropped; any other block, or a second key, is refused: the file is
 * not what it claims to be, and only the key block is ever uploaded.
 */
function parseKey(file: string, bytes: Buffer): { key: KeyObject; pem: Buffer } {
  const text = bytes.toString('latin1');
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(text)) {
    throw new CertificateError(
      `private key ${file} is encrypted; Imperva needs the key without a passphrase`,
    );
  }
  const begins = text.match(/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/g) ?? [];
  if (begins.length === 0) throw new CertificateError(`private key ${file} is not a PEM private key`);
  if (begins.length > 1) {
    throw new CertificateError(
      `private key ${file} holds ${begins.length} private keys; it must hold exactly one`,
    );
  }
  let keyBlock: string | undefined;
  for (const [block, label = ''] of text.matchAll(PEM_BLOCK)) {
    if (PRIVATE_KEY_LABEL.test(label)) keyBlock = block;
    else if (label !== 'EC PARAMETERS') {
      throw new CertificateError(
        `private key ${file} holds a ${label} block besides the key; it must hold the private key alone`,
      );
    }
  }
  if (keyBlock === undefined)
    throw new CertificateError(`private key ${file} does not parse as a private key`);
  const pem = Buffer.from(`${keyBlock}\n`, 'latin1');
  try {
    return { key: createPrivateKey(pem), pem };
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

/**
 * Reads a certificate or key file that must be a regular file (through symlinks: Certbot's live/ links into
 * archive/) of at most `cap` bytes. A FIFO, a device or a folder is refused before it is opened — opening a FIFO
 * waits for a writer — and the file is opened non-blocking and checked again on its descriptor, so that nothing
 * swapped in between can hang the run; at most `cap + 1` bytes are read whatever the file claims.
 */
function readPemFile(file: string, role: string, cap: number): Buffer {
  let fd: number;
  try {
    refuseUnlessFile(file, role, statSync(file), cap);
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    if (error instanceof CertificateError) throw error;
    throw openError(file, role, error);
  }
  try {
    refuseUnlessFile(file, role, fstatSync(fd), cap);
    // Not the size fstat gave: a file may grow while it is read (or, in /proc, claim 0 bytes).
    const buffer = Buffer.allocUnsafe(cap + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        throw new CertificateError(
          `${role} ${file} is larger than ${describeSize(cap)}; it cannot be a ${role}`,
        );
      }
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof CertificateError) throw error;
    throw openError(file, role, error);
  } finally {
    closeSync(fd);
  }
}

function refuseUnlessFile(file: string, role: string, info: Stats, cap: number): void {
  if (info.isDirectory()) throw new CertificateError(`${role} ${file} is a folder, not a file`);
  if (!info.isFile()) {
    throw new CertificateError(`${role} ${file} is a ${fileKind(info)}, not a regular file`);
  }
  if (info.size > cap) {
    throw new CertificateError(`${role} ${file} is larger than ${describeSize(cap)}; it cannot be a ${role}`);
  }
}

function fileKind(info: Stats): string {
  if (info.isFIFO()) return 'named pipe (FIFO)';
  if (info.isCharacterDevice()) return 'character device';
  if (info.isBlockDevice()) return 'block device';
  if (info.isSocket()) return 'socket';
  return 'special file';
}

function describeSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / (1024 * 1024)} MiB` : `${bytes / 1024} KiB`;
}

function openError(file: string, role: string, error: unknown): CertificateError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    let target: string | undefined;
    try {
      if (lstatSync(file).isSymbolicLink()) target = readlinkSync(file);
    } catch {
      // not there at all
    }
    return new CertificateError(
      target === undefined
        ? `${role} ${file} does not exist`
        : `${role} ${file} is a dangling symlink (its target ${target} does not exist)`,
    );
  }
  if (code === 'EACCES') {
    return new CertificateError(
      `${role} ${file} cannot be read: permission denied (run as the user Certbot runs as)`,
    );
  }
  if (code === 'EISDIR') return new CertificateError(`${role} ${file} is a folder, not a file`);
  if (code === 'ELOOP') return new CertificateError(`${role} ${file} is a symlink loop`);
  return new CertificateError(`${role} ${file} cannot be read (${code ?? 'unknown error'})`);
}
