import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readChain } from '../certificate/chain.js';
import type { CertificateChain, CertificateFiles } from '../model/certificate.js';
import { lineageFiles } from '../certificate/lineage.js';
import { type SiteMap, planTargets, wantOf, type Want } from '../model/want.js';
import { CertificateError } from '../model/errors.js';

/**
 * For every mapped site and key type, the certificate in the live folder it should serve. When several lineages
 * of one key type cover a site (Certbot's `NAME-0001` next to a stale `NAME`), the one that expires last wins, so
 * that two runs never upload two certificates by turns. An RSA and an ECDSA lineage for the same names are two
 * wants: Imperva keeps one custom certificate per key type.
 */
export function liveWants(
  liveDir: string,
  sites: SiteMap,
): { wants: Want[]; all: Want[]; skipped: string[]; notes: string[] } {
  const wanted = new Map<string, Want>();
  // Every lineage's wants, before the newest is chosen: whether one of them covers a site's names (engine/coverage.ts).
  const all: Want[] = [];
  const skipped: string[] = [];
  const { lineages, note } = listLineages(liveDir);
  for (const lineage of lineages) {
    let files: CertificateFiles;
    let chain: CertificateChain;
    try {
      files = lineageFiles(lineage);
      chain = readChain(files);
    } catch (error) {
      if (!(error instanceof CertificateError)) throw error;
      skipped.push(`lineage ${lineage} skipped: ${error.message}`);
      continue;
    }
    for (const target of planTargets(chain.names, sites)) {
      all.push(wantOf(target, chain, files, 'live', false));
      const key = `${target.siteId}/${chain.keyType}`;
      const known = wanted.get(key);
      if (known === undefined || chain.notAfter > known.chain.notAfter) {
        wanted.set(key, wantOf(target, chain, files, 'live', false));
      }
    }
  }
  return { wants: [...wanted.values()], all, skipped, notes: note === undefined ? [] : [note] };
}

/** The lineage folders of a live folder, sorted; a live folder that cannot be read has none, and a note says why. */
export function listLineages(liveDir: string): { lineages: string[]; note?: string } {
  try {
    const lineages = readdirSync(liveDir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() || entry.isSymbolicLink())
      .map((entry) => join(liveDir, entry.name))
      .sort();
    return { lineages };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    return { lineages: [], note: `no lineages read from ${liveDir} (${code})` };
  }
}
