import type { SiteMap } from '../config/site-map.js';

/** One site to upload to, and the certificate names that led there. */
export interface Target {
  siteId: string;
  names: string[];
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
