import { CertificateError } from '../model/errors.js';
import type { CertificateFiles } from '../model/certificate.js';
import { writersOf } from '../util/trust.js';

/**
 * Refuses a certificate whose files, or any folder above them up to `top`, someone other than root (or the running
 * user) could have written: root would upload their certificate and key to the sites its names map to. Missing
 * files pass here; the read that follows says so.
 */
export function refuseUntrusted(files: CertificateFiles, top: string): void {
  const roles: [string, string | undefined][] = [
    ['certificate', files.cert],
    ['private key', files.key],
    ['issuer certificate', files.issuer],
  ];
  for (const [role, file] of roles) {
    if (file === undefined) continue;
    const verdict = writersOf(file, top);
    if (verdict.refused !== undefined) {
      throw new CertificateError(`${role} ${file} is refused: ${verdict.refused}`);
    }
  }
}
