import type { CertificateChain, CertificateFiles } from '../model/certificate.js';
import { X509Certificate, type KeyObject } from 'node:crypto';
import { statSync, type Stats } from 'node:fs';
import { dirname, join } from 'node:path';
import { CertificateError } from '../model/errors.js';
import { keyTypeOf } from './key.js';
import { certificateNames } from './names.js';
import { readPemFile } from './pem-file.js';
import { writersOf } from '../util/trust.js';

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * A chain of a leaf and a few intermediates is 2–10 KiB: anything near the cap is not a certificate file, and a
 * device or a runaway file must not take memory.
 */
export const MAX_CHAIN_BYTES = 1024 * 1024;

/**
 * Reads the certificate file (and an issuer file, when the certificate holds only the leaf): readable, PEM, every
 * block a certificate. Enough to plan; the key is read only for a certificate that has somewhere to go. The issuer
 * file is the one the ACME client named (lego's), else one the clients write beside the leaf (issuerBeside).
 */
export function readChain(
  files: CertificateFiles,
  judge: (info: Stats) => void = (info) => rootsOwn(files.cert, info),
): CertificateChain {
  const certText = readPemFile(files.cert, 'certificate', MAX_CHAIN_BYTES, judge).toString('latin1');
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(certText)) {
    throw new CertificateError(
      `certificate ${files.cert} holds a private key (are the certificate and key swapped?)`,
    );
  }
  const blocks = parseCertificates(files.cert, 'certificate', certText);
  if (blocks.length === 1 && files.issuer !== undefined) {
    // lego 4 may write the leaf alone; its issuer file completes the chain Imperva needs.
    blocks.push(...readIssuer(files.issuer));
  } else if (blocks.length === 1) {
    const beside = issuerBeside(files.cert);
    if (beside !== undefined) {
      const issuers = readIssuer(beside);
      // Only the leaf's own issuer completes it: an unrelated chain.pem in the folder is not its chain.
      if (issuers.some((issuer) => issued(issuer, blocks[0] as X509Certificate))) blocks.push(...issuers);
    }
  }
  const { chain, reordered } = orderChain(files.cert, blocks);
  const leaf = chain[0] as X509Certificate;
  // The leaf without the certificate that issued it (alone, or beside its root or another PKI's chain) is no chain:
  // Imperva stores it all the same, replacing a good one, and browsers that do not fetch the intermediate fail.
  // The signature is the proof (OpenSSL's checkIssued also refuses a leaf whose extensions it cannot decode).
  const leafOnly = !chain.slice(1).some((cert) => signedBy(leaf, cert));
  return {
    certFile: files.cert,
    certPem: Buffer.from(chain.map(canonicalPem).join(''), 'latin1'),
    leaf,
    ...(reordered ? { reordered } : {}),
    ...(leafOnly ? { leafOnly } : {}),
    chainLength: chain.length,
    names: certificateNames(leaf),
    fingerprint: leaf.fingerprint256.replaceAll(':', '').toLowerCase(),
    serial: leaf.serialNumber.toLowerCase(),
    notAfter: new Date(leaf.validTo),
    keyType: keyTypeOf(publicKeyOf(leaf, files.cert), files.cert, 'certificate'),
  };
}

/**
 * Refuses a certificate read without its issuer (exit 3): Imperva stores a leaf alone, replacing a good chain, and
 * browsers that do not fetch the intermediate themselves then fail. Every upload checks this; `push --force` skips it.
 */
export function refuseLeafOnly(chain: CertificateChain): void {
  if (chain.leafOnly !== true) return;
  if (chain.chainLength > 1) {
    throw new CertificateError(
      `certificate ${chain.certFile} holds the leaf, but not the certificate that issued it (the others in the file ` +
        'did not sign it): Imperva needs the full chain; upload fullchain.pem instead (push --force uploads it anyway)',
    );
  }
  throw new CertificateError(
    `certificate ${chain.certFile} holds only the leaf, and no issuer file is beside it (chain.pem, NAME.issuer.crt ` +
      'or ca.cer): Imperva needs the full chain; upload fullchain.pem instead (push --force uploads the leaf anyway)',
  );
}

/**
 * The issuer file an ACME client writes beside a leaf-only certificate file, if there is one: lego's
 * `NAME.issuer.crt` beside `NAME.crt`, Certbot's `chain.pem` beside `cert.pem`, acme.sh's `ca.cer` beside
 * `DOMAIN.cer` (docs/acme-clients.md). Only a regular file (through symlinks: Certbot's live folder links into
 * archive/) is taken; nobody but root, or the running user, may have written it.
 */
export function issuerBeside(certFile: string): string | undefined {
  const folder = dirname(certFile);
  const named = certFile.endsWith('.crt') ? [`${certFile.slice(0, -'.crt'.length)}.issuer.crt`] : [];
  for (const candidate of [...named, join(folder, 'chain.pem'), join(folder, 'ca.cer')]) {
    if (candidate === certFile || !isFile(candidate)) continue;
    const verdict = writersOf(candidate, '/');
    if (verdict.refused !== undefined) {
      throw new CertificateError(`issuer certificate ${candidate} is refused: ${verdict.refused}`);
    }
    return candidate;
  }
  return undefined;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function readIssuer(file: string): X509Certificate[] {
  const text = readPemFile(file, 'issuer certificate', MAX_CHAIN_BYTES).toString('latin1');
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) {
    throw new CertificateError(`issuer certificate ${file} holds a private key`);
  }
  return parseCertificates(file, 'issuer certificate', text);
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

/**
 * The certificate opened must be root's (or the running user's) and writable by no one else, whatever the path's
 * walk found a moment before (src/util/trust.ts): a folder swapped in between is caught on the descriptor. A
 * source that names an owner judges by its own rule (src/sources/clients.ts).
 */
function rootsOwn(file: string, info: Stats): void {
  const me = process.getuid?.() ?? 0;
  if ((info.uid === 0 || info.uid === me) && (info.mode & 0o022) === 0) return;
  const mode = (info.mode & 0o7777).toString(8).padStart(4, '0');
  throw new CertificateError(
    `certificate ${file} is refused: the file opened is not what was checked (owner user ${info.uid}, mode ${mode})`,
  );
}

function signedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
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
