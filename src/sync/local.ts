import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  lineageFiles,
  readChain,
  type CertificateChain,
  type CertificateFiles,
} from '../certificate/read.js';
import type { SiteMap } from '../config/site-map.js';
import { CertificateError } from '../errors.js';
import type { CertificateVerdict } from '../imperva/response.js';
import type { Log } from '../log/logger.js';
import { planTargets } from '../push/plan.js';

/** The certificate on disk that a site should serve. */
export interface LocalCertificate {
  chain: CertificateChain;
  files: CertificateFiles;
  /** The certificate's names that map to the site. */
  names: string[];
}

/**
 * For every mapped site, the certificate in the live folder it should serve. When several lineages cover a site
 * (Certbot's `NAME-0001` next to a stale `NAME`, or an RSA and an ECDSA lineage), the one that expires last wins,
 * so that two runs never upload two certificates by turns.
 */
export function localCertificates(liveDir: string, sites: SiteMap, log: Log): Map<string, LocalCertificate> {
  const bySite = new Map<string, LocalCertificate>();
  for (const lineage of listLineages(liveDir, log)) {
    let files: CertificateFiles;
    let chain: CertificateChain;
    try {
      files = lineageFiles(lineage);
      chain = readChain(files);
    } catch (error) {
      if (!(error instanceof CertificateError)) throw error;
      log.warn(`lineage ${lineage} skipped: ${error.message}`);
      continue;
    }
    for (const target of planTargets(chain.names, sites)) {
      const known = bySite.get(target.siteId);
      if (known === undefined || chain.notAfter > known.chain.notAfter) {
        bySite.set(target.siteId, { chain, files, names: target.names });
      }
    }
  }
  return bySite;
}

export function listLineages(liveDir: string, log: Log): string[] {
  try {
    return readdirSync(liveDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() || entry.isSymbolicLink())
      .map((entry) => join(liveDir, entry.name))
      .sort();
  } catch (error) {
    log.info(`no lineages read from ${liveDir} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    return [];
  }
}

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
