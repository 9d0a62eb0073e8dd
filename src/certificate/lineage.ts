import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CertificateError } from '../errors.js';

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
