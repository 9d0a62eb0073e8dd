import type { Config } from '../config/load.js';
import { mappedSites, type Want } from '../model/want.js';
import type { Log } from '../log/logger.js';
import { tellGrouped } from '../log/summary.js';
import { clientWants, newestPerSiteAndKeyType } from './clients.js';
import { listLineages, liveWants } from './live.js';

/** What this host holds for the mapped sites, as read from its folders now. */
export interface LocalRead {
  /** Per site and key type, the certificate that expires last: Certbot's live folder and the config's `sources`. */
  wants: Want[];
  /** Every certificate's wants, before the newest per site and key type is chosen (engine/coverage.ts). */
  all: Want[];
  /**
   * A lineage, certificate or source folder that could not be read, one line each: what it held, and of which key
   * type, is unknown, and nothing may be removed at Imperva on the strength of its absence.
   */
  skipped: string[];
  /** What is worth saying but is no problem of its own (a live folder that cannot be listed). */
  notes: string[];
}

/**
 * Every certificate on this host that a mapped site should serve: Certbot's live folder and the config's `sources`
 * (lego, acme.sh, dehydrated); per site and key type, the one that expires last. Says nothing: see tellLocal.
 */
export function readLocal(liveDir: string, config: Config): LocalRead {
  const live = liveWants(liveDir, config.sites);
  const clients = clientWants(config.sources ?? [], config.sites);
  return {
    wants: newestPerSiteAndKeyType([...live.wants, ...clients.wants]),
    all: [...live.all, ...clients.all],
    skipped: [...live.skipped, ...clients.refused, ...clients.skipped],
    notes: live.notes,
  };
}

/** What could not be read is a warning each; the notes are information. */
export function tellLocal(read: LocalRead, log: Log): void {
  for (const note of read.notes) log.info(note);
  for (const line of read.skipped) log.warn(line);
}

/** readLocal, told: the wants of a command that reads and reports in one go (status, verify). */
export function localWants(liveDir: string, config: Config, log: Log): Want[] {
  const read = readLocal(liveDir, config);
  tellLocal(read, log);
  return read.wants;
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
  const noLineages = (config.sources ?? []).length === 0 && listLineages(liveDir).lineages.length === 0;
  if (noLineages) {
    log.warn(
      `no certificate lineages in ${liveDir}, but ${mapped.size} site${mapped.size === 1 ? ' is' : 's are'} mapped: ` +
        'is liveDir right (or are sources missing from the config)?',
    );
    found = true;
  }
  const covered = new Set(wants.map((want) => want.siteId));
  const bare = [...mapped]
    .filter(([siteId]) => !covered.has(siteId))
    .map(
      ([siteId, names]) =>
        `site ${siteId} (${names.join(', ')}): no certificate on this host covers it; nothing keeps it current`,
    );
  found ||= bare.length > 0;
  // One cause, one line: where the live folder holds nothing, the line above already counts the sites.
  if (noLineages) for (const line of bare) log.debug(line);
  else
    tellGrouped(
      log,
      'warn',
      bare,
      (count) => `${count} mapped sites have no certificate on this host; nothing keeps them current`,
    );
  return found;
}
