import { basename } from 'node:path';
import { type KeyType, keyTypeText } from '../model/certificate.js';
import { ApiError } from '../model/errors.js';
import type { Held } from './held.js';
import { mappedSites, wantOf, type LocalCertificate, type SiteMap, type Want } from '../model/want.js';
import { normalizeName } from '../names/normalize.js';

/**
 * One site, one certificate per key type, covering every name. Imperva keeps one custom certificate per site and key
 * type (docs/imperva-api.md): when the names mapped to a site are spread over several certificates of one key type
 * (Certbot's `a.example` and `www.a.example` lineages), each upload replaces the other, and browsers asking for the
 * names the last one lacks get a certificate that is not for them. Imperva stores such an upload all the same.
 * Pure: the map, the local certificates and (where an answer already read says it) the site's own name at Imperva.
 */

export { covers } from '../names/covers.js';

/**
 * The names that none of a certificate's names covers, in their order: as `covers`, by looking each name up, itself
 * and the wildcard that would stand for its first label. One certificate may carry hundreds of names for as many
 * sites: a scan of them all per site would be quadratic.
 */
export function uncoveredNames(certNames: readonly string[], names: readonly string[]): string[] {
  const held = nameSet(certNames);
  return names.filter((name) => {
    if (held.has(name)) return false;
    const dot = name.indexOf('.');
    return name.startsWith('*.') || dot <= 0 || !held.has(`*.${name.slice(dot + 1)}`);
  });
}

/** Each certificate's names as a set, made once per certificate (its names are one array for all its wants). */
const nameSets = new WeakMap<readonly string[], ReadonlySet<string>>();
function nameSet(names: readonly string[]): ReadonlySet<string> {
  let set = nameSets.get(names);
  if (set === undefined) {
    set = new Set(names);
    nameSets.set(names, set);
  }
  return set;
}

/** The map by site (mappedSites), made once per map: every want asks for its site's names. */
const bySiteOf = new WeakMap<SiteMap, ReadonlyMap<string, string[]>>();
function namesBySite(sites: SiteMap): ReadonlyMap<string, string[]> {
  let bySite = bySiteOf.get(sites);
  if (bySite === undefined) {
    bySite = mappedSites(sites);
    bySiteOf.set(sites, bySite);
  }
  return bySite;
}

/** A site and key type for which no single local certificate covers every name the site must serve. */
export interface Gap {
  siteId: string;
  keyType: KeyType;
  /** Every name the site must serve: those the map sends to it, then its own name at Imperva when not among them. */
  names: string[];
  /** The names mapped to the site (the map's lines that could change instead). */
  mapped: string[];
  /** The local certificates of this key type that go to the site: none covers every name. */
  certificates: LocalCertificate[];
}

/** The names a site must serve: those the map sends to it, and its own name at Imperva (normalized) when known. */
export function siteNames(mapped: readonly string[], ownName: string | undefined): string[] {
  const own = ownName === undefined ? undefined : normalizeName(ownName);
  return own === undefined || mapped.includes(own) ? [...mapped] : [...mapped, own];
}

/**
 * The gap of one site and key type, or undefined when one of `certificates` covers every name (or there are none
 * to cover). Pure.
 */
export function gapOf(
  siteId: string,
  keyType: KeyType,
  mapped: readonly string[],
  ownName: string | undefined,
  certificates: readonly LocalCertificate[],
): Gap | undefined {
  const names = siteNames(mapped, ownName);
  if (names.length === 0 || certificates.length === 0) return undefined;
  if (certificates.some((one) => uncoveredNames(one.chain.names, names).length === 0)) return undefined;
  return { siteId, keyType, names, mapped: [...mapped], certificates: distinct(certificates) };
}

/**
 * The map-level analysis: for every site the map names and every key type this host deploys there, whether one
 * local certificate of that key type covers every name mapped to the site (and its own name at Imperva, where
 * `ownNames` knows it). `local` holds every certificate's wants, before the newest per site and key type is chosen.
 */
export function coverageGaps(
  local: readonly Want[],
  sites: SiteMap,
  ownNames: ReadonlyMap<string, string | undefined> = new Map(),
): Gap[] {
  const bySite = new Map<string, Map<KeyType, Want[]>>();
  for (const want of local) {
    const types = bySite.get(want.siteId) ?? new Map<KeyType, Want[]>();
    types.set(want.chain.keyType, [...(types.get(want.chain.keyType) ?? []), want]);
    bySite.set(want.siteId, types);
  }
  const gaps: Gap[] = [];
  for (const [siteId, mapped] of namesBySite(sites)) {
    for (const [keyType, certificates] of bySite.get(siteId) ?? []) {
      const gap = gapOf(siteId, keyType, mapped, ownNames.get(siteId), certificates);
      if (gap !== undefined) gaps.push(gap);
    }
  }
  return gaps;
}

/**
 * Sync's wants, each knowing its peers (every local certificate of its key type for its site). Where the newest
 * certificate does not cover the site's names but an older one does, the one that covers goes there instead: it is
 * the only one that serves every name.
 */
export function withPeers(wants: readonly Want[], local: readonly Want[], sites: SiteMap): Want[] {
  const mapped = namesBySite(sites);
  const peersOf = new Map<string, Want[]>();
  for (const one of local) {
    const key = `${one.siteId}/${one.chain.keyType}`;
    peersOf.set(key, [...(peersOf.get(key) ?? []), one]);
  }
  return wants.map((want) => {
    const peers = peersOf.get(`${want.siteId}/${want.chain.keyType}`);
    if (peers === undefined || want.origin !== 'live') return want;
    const names = mapped.get(want.siteId) ?? [];
    const coversAll = (one: LocalCertificate) => uncoveredNames(one.chain.names, names).length === 0;
    let chosen: Want = want;
    if (!coversAll(want)) {
      for (const peer of peers) {
        if (coversAll(peer) && (chosen === want || peer.chain.notAfter > chosen.chain.notAfter))
          chosen = peer;
      }
    }
    const next = wantOf(chosen, chosen.chain, chosen.files, chosen.origin, chosen.explicit);
    next.peers = peers;
    return next;
  });
}

/** A site whose names this certificate does not all cover: not uploaded there (push --force does). */
export class UncoveredSite extends ApiError {
  /** Its own code in a site's result (--json, the log file): not an answer of Imperva's. */
  override readonly code = 'UNCOVERED';
  constructor(readonly gap: Gap) {
    // Nothing was sent: no attempt, and no later one succeeds until the map or the certificate changes.
    super(gapLine(gap), { transient: false, attempts: 0 });
  }
}

/**
 * Whether this want's own certificate covers every name of its site (the map's, and its own name at Imperva when
 * an answer already read says it); the refusal to upload when it does not. The line names the want's peers too.
 */
export function uncoveredSite(want: Want, sites: SiteMap, ownName?: string): UncoveredSite | undefined {
  const mapped = namesBySite(sites).get(want.siteId) ?? [];
  const gap = gapOf(want.siteId, want.chain.keyType, mapped, ownName, [want]);
  if (gap === undefined) return undefined;
  const certificates = want.peers !== undefined && want.peers.length > 0 ? want.peers : [want];
  return new UncoveredSite({ ...gap, certificates: distinct(certificates) });
}

/** The site's own name, where an answer already read says it: v3 `siteName`, v1 `sites/status` `domain`. */
export function ownNameOf(held: Held): string | undefined {
  if (held.source === 'v1') return held.status.domain;
  return held.certificates.find((entry) => entry.siteName !== undefined)?.siteName;
}

/**
 * The one line that says so: the site, its names, each certificate with its names, and the fix — the Certbot
 * command that puts every name on the lineage that covers most of them, or the map lines to change.
 */
export function gapLine(gap: Gap): string {
  const each = gap.certificates.map((one) => `${labelOf(one)} has ${one.chain.names.join(', ')}`);
  const best = bestOf(gap);
  const missing = uncoveredNames(best.chain.names, gap.names);
  const names = [...best.chain.names, ...missing];
  const reissue =
    best.files.lineage !== undefined
      ? `certbot certonly --cert-name ${basename(best.files.lineage)} ${names.map((name) => `-d ${name}`).join(' ')} --expand`
      : `issue ${best.files.cert} for ${names.join(', ')}`;
  const lines = missing.filter((name) => gap.mapped.includes(name));
  const remap =
    lines.length === 0
      ? ''
      : `, or point ${lines.map((name) => `sites[${JSON.stringify(name)}]`).join(', ')} at another site`;
  return (
    `site ${gap.siteId} (${gap.names.join(', ')}): no ${keyTypeText(gap.keyType)} certificate on this host covers all of its names, ` +
    `and Imperva keeps one per site and key type (${each.join('; ')}); fix: ${reissue}${remap}`
  );
}

/** A certificate as its line names it: the Certbot lineage, else the certificate file. */
function labelOf(one: LocalCertificate): string {
  return one.files.lineage ?? one.files.cert;
}

/** The certificate that covers most of the site's names (the first of them on a tie). */
function bestOf(gap: Gap): LocalCertificate {
  let best = gap.certificates[0] as LocalCertificate;
  let left = uncoveredNames(best.chain.names, gap.names).length;
  for (const one of gap.certificates.slice(1)) {
    const count = uncoveredNames(one.chain.names, gap.names).length;
    if (count < left) [best, left] = [one, count];
  }
  return best;
}

/** One entry per certificate file. */
function distinct(certificates: readonly LocalCertificate[]): LocalCertificate[] {
  const byFile = new Map<string, LocalCertificate>();
  for (const one of certificates) if (!byFile.has(one.files.cert)) byFile.set(one.files.cert, one);
  return [...byFile.values()];
}
