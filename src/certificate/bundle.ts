import type { CertificateBundle, CertificateChain, CertificateFiles } from '../model/certificate.js';
import { CertificateError } from '../model/errors.js';
import { readChain } from './chain.js';
import { readPrivateKey } from './key.js';

/** Reads and checks a certificate and its key: what must hold before anything is uploaded. */
export function readCertificate(files: CertificateFiles, now: Date = new Date()): CertificateBundle {
  return withKey(readChain(files), files.key, now);
}

/**
 * Reads the key and checks it against the leaf that readChain identified: one PEM key, unencrypted, RSA or EC,
 * matching; the leaf valid now (neither expired nor not yet valid).
 */
export function withKey(chain: CertificateChain, keyFile: string, now: Date = new Date()): CertificateBundle {
  const { key, pem: keyPem } = readPrivateKey(keyFile);
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
