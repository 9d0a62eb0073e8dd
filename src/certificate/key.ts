import type { KeyType } from '../model/certificate.js';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { CertificateError } from '../model/errors.js';
import { readPemFile } from './pem-file.js';

/** Any PEM block, its label captured. */
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;
const PRIVATE_KEY_LABEL = /^(?:[A-Z0-9]+ )?PRIVATE KEY$/;

/** An RSA 8192 key is under 7 KiB: anything near the cap is not a key file, and must not take memory. */
export const MAX_KEY_BYTES = 64 * 1024;

/**
 * Reads a private key file: one PEM key, unencrypted, RSA or EC. Returns the parsed key and exactly the bytes to
 * upload as `private_key` (base64 of these): the key's one PEM block. A secret.
 */
export function readPrivateKey(file: string): { key: KeyObject; pem: Buffer } {
  const parsed = parseKey(file, readPemFile(file, 'private key', MAX_KEY_BYTES));
  keyTypeOf(parsed.key, file, 'private key');
  return parsed;
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
