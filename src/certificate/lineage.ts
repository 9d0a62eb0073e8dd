import type { CertificateFiles } from '../model/certificate.js';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CertificateError } from '../model/errors.js';

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
