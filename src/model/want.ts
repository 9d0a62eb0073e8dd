import type { CertificateChain, CertificateFiles } from './certificate.js';

/** Domain name (lowercase, ASCII) → the site ids it maps to, in the order the config lists them. */
export type SiteMap = ReadonlyMap<string, readonly string[]>;

/** One site to upload to, and the certificate names that led there. */
export interface Target {
  siteId: string;
  names: string[];
}

/** Where a wanted certificate came from: it decides how a problem with it is told, and whether sync can find it again. */
export type WantOrigin = 'hook' | 'files' | 'live' | 'queue';

/** A certificate this host holds, and where. */
export interface LocalCertificate {
  chain: CertificateChain;
  files: CertificateFiles;
}

/** What should be true: this site serves this certificate (of its key type). */
export interface Want extends Target, LocalCertificate {
  origin: WantOrigin;
  /** The site was named by `push --site-id`, not chosen by the map: the queue keeps it even if the map does not. */
  explicit: boolean;
  /**
   * Every certificate of this key type on the host that the map sends to the site, this one included, when the
   * caller read them all (sync): the line that refuses an upload not covering the site's names names them all.
   */
  peers?: readonly LocalCertificate[] | undefined;
}

/**
 * Which sites get a certificate with these names: every site id the map assigns to any of them. Each site appears
 * once, however many names point at it, in the order the certificate lists its names. Pure.
 */
export function planTargets(names: readonly string[], sites: SiteMap): Target[] {
  const targets = new Map<string, Target>();
  for (const name of names) {
    for (const siteId of sites.get(name) ?? []) {
      const target = targets.get(siteId);
      if (target === undefined) targets.set(siteId, { siteId, names: [name] });
      else if (!target.names.includes(name)) target.names.push(name);
    }
  }
  return [...targets.values()];
}

/** `--site-id` replaces the map's choice: every named site gets the certificate. */
export function explicitTargets(siteIds: readonly string[], names: readonly string[]): Target[] {
  return [...new Set(siteIds)].map((siteId) => ({ siteId, names: [...names] }));
}

/**
 * A want, built as one literal. `{ ...target, chain, … }` would do the same, but V8 (Node 20) gives every object
 * made by a spread and then extended a hidden class of its own: at Imperva's scale, thousands of them, kept for the
 * whole run. The same holds for the other per-site objects of the engine and the queue.
 */
export function wantOf(
  target: Target,
  chain: CertificateChain,
  files: CertificateFiles,
  origin: WantOrigin,
  explicit: boolean,
): Want {
  return { siteId: target.siteId, names: target.names, chain, files, origin, explicit };
}

/** One certificate's wants: the map's sites, or the explicitly named ones. */
export function wantsFor(
  chain: CertificateChain,
  files: CertificateFiles,
  sites: SiteMap,
  origin: WantOrigin,
  siteIds?: readonly string[],
): Want[] {
  const explicit = siteIds !== undefined && siteIds.length > 0;
  const targets = explicit ? explicitTargets(siteIds, chain.names) : planTargets(chain.names, sites);
  return targets.map((target) => wantOf(target, chain, files, origin, explicit));
}

/** Every site id the map names, with the names that point at it, in map order. */
export function mappedSites(sites: SiteMap): Map<string, string[]> {
  const bySite = new Map<string, string[]>();
  for (const [name, siteIds] of sites) {
    for (const siteId of siteIds) bySite.set(siteId, [...(bySite.get(siteId) ?? []), name]);
  }
  return bySite;
}

export function describeNames(names: readonly string[]): string {
  return names.length === 0 ? 'a certificate with no DNS names' : names.join(', ');
}
