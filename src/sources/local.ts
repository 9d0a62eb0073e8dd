import type { Config } from '../config/load.js';
import { mappedSites, type Want } from '../model/want.js';
import { deriveLog, silent } from '../log/derive.js';
import type { Log } from '../log/logger.js';
import { clientWants, newestPerSiteAndKeyType } from './clients.js';
import { listLineages, liveWants } from './live.js';

/**
 * Every certificate on this host that a mapped site should serve: Certbot's live folder and the config's `sources`
 * (lego, acme.sh, dehydrated); per site and key type, the one that expires last.
 */
export function localWants(liveDir: string, config: Config, log: Log): Want[] {
  return readLocal(liveDir, config, log).wants;
}

/**
 * The same, and whether anything could not be read (a lineage or a source folder, each a warning): what it held, and
 * of which key type, is then unknown, and nothing may be removed at Imperva on the strength of its absence.
 */
export function readLocal(liveDir: string, config: Config, log: Log): { wants: Want[]; unreadable: boolean } {
  let unreadable = false;
  const counting = deriveLog(log, {
    warn: (message, meta) => {
      unreadable = true;
      log.warn(message, meta);
    },
  });
  const wants = newestPerSiteAndKeyType([
    ...liveWants(liveDir, config.sites, counting),
    ...clientWants(config.sources ?? [], config.sites, counting),
  ]);
  return { wants, unreadable };
}

/**
 * The safety net must never be silently empty: a missing or empty live folder while sites are mapped (and no
 * other source), and every mapped site for which this host has no certificate, are warnings. Returns whether any
 * was found (sync, status and check then exit non-zero).
 */
export function warnUncovered(
  liveDir: string,
  config: Config,
  wants: readonly { siteId: string }[],
  log: Log,
): boolean {
  const mapped = mappedSites(config.sites);
  if (mapped.size === 0) return false;
  let found = false;
  if (
    (config.sources ?? []).length === 0 &&
    listLineages(liveDir, deriveLog(log, { info: silent })).length === 0
  ) {
    log.warn(
      `no certificate lineages in ${liveDir}, but ${mapped.size} site${mapped.size === 1 ? ' is' : 's are'} mapped: ` +
        'is liveDir right (or are sources missing from the config)?',
    );
    found = true;
  }
  const covered = new Set(wants.map((want) => want.siteId));
  for (const [siteId, names] of mapped) {
    if (covered.has(siteId)) continue;
    log.warn(
      `site ${siteId} (${names.join(', ')}): no certificate on this host covers it; nothing keeps it current`,
    );
    found = true;
  }
  return found;
}
