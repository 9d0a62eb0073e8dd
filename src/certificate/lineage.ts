import type { CertificateFiles } from '../model/certificate.js';
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CertificateError } from '../model/errors.js';
import { refuseUntrusted } from './trusted.js';

/**
 * Certbot's live folder holds fullchain.pem and privkey.pem, symlinks into ../../archive. They, their targets, and
 * the live and archive folders up to the live folder's parent (/etc/letsencrypt) must be root's alone.
 */
export function lineageFiles(dir: string): CertificateFiles {
  const folder = resolve(dir);
  let isDir = false;
  try {
    isDir = statSync(folder).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new CertificateError(`lineage folder ${folder} does not exist or is not a folder`);
  const files = { cert: join(folder, 'fullchain.pem'), key: join(folder, 'privkey.pem'), lineage: folder };
  refuseUntrusted(files, dirname(dirname(folder)));
  return files;
}
