import type { X509Certificate } from 'node:crypto';

/** Imperva keeps one custom certificate per site per key type and calls the types RSA and ECC. */
export type KeyType = 'RSA' | 'ECC';

/**
 * A key type as text output names it: Certbot (`--key-type ecdsa`) and OpenSSL say ECDSA where Imperva says ECC.
 * --json, metrics and the queue keep Imperva's words.
 */
export function keyTypeText(keyType: KeyType): string {
  return keyType === 'ECC' ? 'ECDSA' : keyType;
}

/** Where a certificate and its key are: the files an ACME client wrote. */
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
  /**
   * Set when the leaf is all there is: the file held it alone and no issuer file completed it. Uploads refuse it
   * (refuseLeafOnly) unless `push --force`.
   */
  leafOnly?: boolean | undefined;
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
