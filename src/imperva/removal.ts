import { type KeyType, keyTypeText } from '../model/certificate.js';
import { quote } from './answer.js';
import type { CertificateEntry } from './v3-certificates.js';

/**
 * The one rule for removing a site's custom certificate of one key type, shared by `remove` and
 * `pruneOtherKeyType` (pure): without --force nothing is removed when, afterwards, no unexpired certificate would
 * cover the site's names. What counts is another key type's custom certificate that Imperva lists for the site,
 * neither `EXPIRED` nor past its expiry, and not flagged by Imperva as not covering the site (`hasMismatchSite`).
 * A key type listed twice is one certificate, and entries of the key type being removed go with it. Imperva's own
 * certificate counts when it is in force and covers every name of the site (`fallback`, judged by
 * src/imperva/own-certificates.ts): the site then falls back to it.
 */
export interface AfterRemoval {
  /** The other key types' certificates that would still serve the site. */
  left: CertificateEntry[];
  /** Each other certificate that would remain but does not count, and why: for the refusal's line. */
  notCounted: string[];
}

export function afterRemoval(
  entries: readonly CertificateEntry[],
  removing: KeyType,
  now: Date,
): AfterRemoval {
  const left: CertificateEntry[] = [];
  const notCounted: string[] = [];
  for (const keyType of new Set(entries.map((entry) => entry.keyType))) {
    if (keyType === removing) continue;
    // Duplicate entries of one key type are one certificate: it counts when any of them does.
    const same = entries.filter((entry) => entry.keyType === keyType);
    const counts = same.find((entry) => whyNotCounted(entry, now) === undefined);
    if (counts !== undefined) left.push(counts);
    else
      notCounted.push(
        `the ${keyTypeText(keyType)} custom certificate, ${whyNotCounted(same[0] as CertificateEntry, now)}`,
      );
  }
  return { left, notCounted };
}

function whyNotCounted(entry: CertificateEntry, now: Date): string | undefined {
  const expiry =
    entry.expirationDate === undefined ? '' : ` on ${new Date(entry.expirationDate).toISOString()}`;
  const status = entry.status.trim().toUpperCase();
  if (status === 'EXPIRED') return `which Imperva reports EXPIRED${expiry}`;
  // As for Imperva's own certificates (src/imperva/own-certificates.ts): only a status that says the certificate is
  // in force counts (none given: judged by its expiry, and
  // without either it does not count). REVOKED, INACTIVE or anything undocumented is not proof that
  // browsers would still be served, and removing the other key type is not undone.
  if (status !== '' && status !== 'ACTIVE' && status !== 'NEAR_EXPIRATION')
    return `which Imperva reports ${quote(entry.status) ?? 'in a status too long to show'}, not ACTIVE or NEAR_EXPIRATION`;
  // Neither a status nor an expiry: nothing says browsers of that key type are served.
  if (status === '' && entry.expirationDate === undefined)
    return 'which Imperva gives neither a status nor an expiry for';
  if (entry.expirationDate !== undefined && entry.expirationDate <= now.getTime())
    return `which expired${expiry}`;
  if (entry.mismatch) return "which Imperva flags as not covering the site's names (hasMismatchSite)";
  return undefined;
}

/**
 * Why removing the site's `removing` certificate must wait for --force, naming what would be left; undefined when
 * another unexpired certificate would still cover the site, or Imperva's own certificate would (`fallback` true).
 * `fallback` undefined: Imperva's own certificate could not be judged, and is not counted.
 */
export function removalRefusal(
  entries: readonly CertificateEntry[],
  removing: KeyType,
  now: Date,
  fallback?: boolean,
): string | undefined {
  const { left, notCounted } = afterRemoval(entries, removing, now);
  if (left.length > 0 || fallback === true) return undefined;
  const rest = notCounted.length === 0 ? 'no other custom certificate' : `only ${notCounted.join(' and ')}`;
  const own =
    fallback === false
      ? "and no certificate of Imperva's own covers them"
      : "and whether Imperva's own certificate covers them could not be told";
  return `afterwards no unexpired certificate would cover the site's names: left would be ${rest}, ${own}`;
}
