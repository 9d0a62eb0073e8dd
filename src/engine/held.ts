import { type CertificateChain, type KeyType, keyTypeText } from '../model/certificate.js';
import type { ImpervaClient } from '../imperva/client.js';
import { FlaggedUpload, isV3Unavailable, withoutStack } from '../imperva/errors.js';
import type { SiteStatus } from '../imperva/site-status.js';
import { normalizeFingerprint, type CertificateEntry } from '../imperva/v3-certificates.js';
import type { Log } from '../log/logger.js';
import type { Want } from '../model/want.js';
import type { Delivery, DeliveryFlag } from '../state/delivery.js';
import { servesCertificate } from './served.js';

/** What Imperva holds for a site: per key type from v3, or v1's single custom certificate. */
export type Held = { source: 'v3'; certificates: CertificateEntry[] } | { source: 'v1'; status: SiteStatus };

/**
 * What each site holds, asked as cheaply as Imperva allows: the v3 account-wide listing once, else v3 per site,
 * else v1 `sites/status` (which shows one custom certificate and cannot tell the key types apart). The fall-back is
 * said once per run. One answer per site, however many key types ask.
 */
export class ImpervaView {
  private accountWide: Promise<Map<string, CertificateEntry[]> | undefined> | undefined;
  private v3 = true;
  private readonly bySite = new Map<string, Promise<Held>>();

  constructor(
    private readonly client: ImpervaClient,
    private readonly log: Log,
  ) {}

  held(siteId: string): Promise<Held> {
    let held = this.bySite.get(siteId);
    if (held === undefined) {
      held = this.ask(siteId);
      this.bySite.set(siteId, held);
      // A failure is the caller's to report, once; a later caller asks again.
      held.catch(() => this.bySite.delete(siteId));
    }
    return held;
  }

  private async ask(siteId: string): Promise<Held> {
    if (this.v3) {
      this.accountWide ??= this.client.certificates().then(
        (entries) => {
          const map = new Map<string, CertificateEntry[]>();
          for (const entry of entries) map.set(entry.siteId, [...(map.get(entry.siteId) ?? []), entry]);
          return map;
        },
        (error: unknown) => {
          if (isV3Unavailable(error)) return undefined;
          throw error;
        },
      );
      const all = await this.accountWide;
      if (all !== undefined) return { source: 'v3', certificates: all.get(siteId) ?? [] };
      try {
        return { source: 'v3', certificates: await this.client.certificates(siteId) };
      } catch (error) {
        if (!isV3Unavailable(error)) throw error;
        if (this.v3) {
          this.v3 = false;
          this.log.info(
            `Imperva's v3 certificates API is not available to this key (${(error as Error).message}); ` +
              'judging by v1 sites/status, which shows one custom certificate per site',
          );
        }
      }
    }
    return { source: 'v1', status: await this.client.status(siteId) };
  }
}

/** The SHA-1 of a leaf as v3 shows it, normalized. */
export function sha1Of(chain: CertificateChain): string | undefined {
  return normalizeFingerprint(chain.leaf.fingerprint);
}

/** The certificate of this key type that the site holds, from v3. */
export function heldOfType(held: Held, keyType: KeyType): CertificateEntry | undefined {
  return held.source === 'v3' ? held.certificates.find((entry) => entry.keyType === keyType) : undefined;
}

/**
 * Whether the site holds this certificate and Imperva does not flag it, judged for its own key type: a site that
 * also holds a certificate of the other key type is not outdated for it. See heldCertificate.
 */
export function holdsCertificate(held: Held, chain: CertificateChain, delivery?: Delivery): boolean {
  return heldCertificate(held, chain, delivery) && listedFlags(held, chain).length === 0;
}

/**
 * Whether the site holds this certificate. v3: our input hash, else the SHA-1, else the expiry; v1: see served.ts.
 * A legacy entry that shows none of them (docs/imperva-api.md, "v3 certificates") is judged by what this host
 * delivered there (`delivery`, from the delivery record): judged "not held", it would be uploaded on every run.
 */
export function heldCertificate(held: Held, chain: CertificateChain, delivery?: Delivery): boolean {
  const ours = delivery?.fingerprint === chain.fingerprint;
  if (held.source === 'v1') {
    const custom = held.status.custom;
    if (custom !== undefined && blank(custom.inputHash) && custom.expirationDate === undefined) return ours;
    return servesCertificate(custom, chain);
  }
  const entry = heldOfType(held, chain.keyType);
  if (entry === undefined) return false;
  if (!blank(entry.inputHash)) return entry.inputHash === chain.fingerprint;
  if (entry.fingerprintSha1 !== undefined) return entry.fingerprintSha1 === sha1Of(chain);
  if (entry.expirationDate !== undefined) return entry.expirationDate === chain.notAfter.getTime();
  return ours;
}

function blank(value: string | undefined): boolean {
  return value === undefined || value === '';
}

/**
 * What Imperva flags on the certificate of this key type it holds: v3 `hasMismatchSite`; v1 `sites/status`
 * `hostnameMismatchError` (or `coverageError`) and `chainError`, which describe the one custom certificate it shows.
 */
function listedFlags(held: Held, chain: CertificateChain): DeliveryFlag[] {
  if (held.source === 'v3')
    return heldOfType(held, chain.keyType)?.mismatch === true ? ['coverageError'] : [];
  const custom = held.status.custom;
  if (custom === undefined) return [];
  const flags: DeliveryFlag[] = [];
  if (custom.hostnameMismatchError) flags.push('coverageError');
  if (custom.chainError) flags.push('chainError');
  return flags;
}

/**
 * How the certificate a site should hold stands at Imperva: held (current), held but flagged (an error naming what
 * Imperva flags: uploading the same certificate again gets the same verdict), or not held (also: held with another
 * chain than the local one, as this host's own delivery record says). The flags are Imperva's
 * listing's, and those its answer gave to this host's upload of the very same delivery (same certificate, chain and
 * names: the delivery record), which the listing does not show for the chain.
 */
export function judgeHeld(
  held: Held,
  want: { names: readonly string[]; chain: CertificateChain },
  delivery: Delivery | undefined,
): 'current' | 'missing' | FlaggedUpload {
  const { chain } = want;
  if (!heldCertificate(held, chain, delivery)) return 'missing';
  // This host's last delivery there was this very leaf with another chain (a leaf pushed alone with --force over a
  // good one): Imperva holds the leaf, but not the chain this host has now, and its listing does not show chains.
  // Sending the local chain is what mends the edge; called current, nothing would.
  if (delivery?.fingerprint === chain.fingerprint && delivery.chainLength !== chain.chainLength)
    return 'missing';
  const flags = new Set(listedFlags(held, chain));
  const same =
    delivery !== undefined &&
    delivery.fingerprint === chain.fingerprint &&
    delivery.chainLength === chain.chainLength &&
    delivery.names.length === want.names.length &&
    want.names.every((name) => delivery.names.includes(name));
  if (same) for (const flag of delivery.flags) flags.add(flag);
  if (flags.size === 0) return 'current';
  const uncovered = flags.has('coverageError') ? (same ? (delivery.uncovered ?? []) : []) : undefined;
  return withoutStack(() => new FlaggedUpload(uncovered, flags.has('chainError')));
}

/**
 * A certificate of the other key type that this host does not deploy, expiring before the local one: RSA-only
 * clients keep getting it until it expires. Said once per site, with the command that removes it.
 */
export function warnLeftover(
  siteId: string,
  names: readonly string[],
  local: readonly Want[],
  held: Held | undefined,
  log: Log,
): void {
  if (held?.source !== 'v3' || local.length === 0) return;
  const newest = Math.max(...local.map((want) => want.chain.notAfter.getTime()));
  for (const entry of held.certificates) {
    if (local.some((want) => want.chain.keyType === entry.keyType)) continue;
    if (entry.expirationDate === undefined || entry.expirationDate >= newest) continue;
    log.warn(
      `site ${siteId} (${names.join(', ')}): Imperva also holds an ${keyTypeText(entry.keyType)} certificate that this host does not deploy, ` +
        `expiring ${new Date(entry.expirationDate).toISOString()}; remove it with: incap-cert remove --site-id ${siteId} --auth-type ${keyTypeText(entry.keyType)}`,
    );
  }
}
