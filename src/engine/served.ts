import type { CertificateChain } from '../model/certificate.js';
import type { CertificateVerdict } from '../imperva/verdict.js';

/**
 * Whether Imperva serves this certificate: its `inputHash` is what we sent as `input_hash` (the leaf's SHA-256);
 * without one (uploaded by something else), the expiry must equal the leaf's notAfter.
 */
export function servesCertificate(custom: CertificateVerdict | undefined, chain: CertificateChain): boolean {
  if (custom === undefined) return false;
  if (custom.inputHash !== undefined && custom.inputHash !== '')
    return custom.inputHash === chain.fingerprint;
  return custom.expirationDate === chain.notAfter.getTime();
}
