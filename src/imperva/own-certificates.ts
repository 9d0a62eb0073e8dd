/**
 * Imperva's own certificates: what a site falls back to when it holds no custom certificate of the key type a
 * client asks for (docs/operations.md, "The fallback"). Read from the account-wide v3 listing (`certType=ATLAS`,
 * one call a run); where that listing fails, from each site's v1 `sites/status` `generated_certificate`.
 */
import { ApiError } from '../model/errors.js';
import { covers } from '../names/covers.js';
import { isObject } from '../util/strict-json.js';
import { fail, throttled, tryJson, type HttpAnswer } from './answer.js';
import type { Call } from './call.js';
import type { ImpervaClient } from './client.js';
import { v3Errors, v3Failure } from './v3-certificates.js';

/** One of Imperva's own certificates: its status and each name it holds, validated or not, for which sites. */
export interface OwnCertificate {
  /** v3 `status` (ACTIVE, NEAR_EXPIRATION, IN_PROCESS, …); for `generated_certificate`, its `validation_status`. */
  status: string;
  /** Whether the certificate is issued and in force (see isInForce). */
  inForce: boolean;
  names: OwnName[];
}

export interface OwnName {
  name: string;
  validated: boolean;
  /**
   * The sites the name serves, as v3 says (`sitesIds`; none when it does not say); undefined for a site's own
   * `generated_certificate`, which serves that site.
   */
  siteIds: string[] | undefined;
}

/** The account-wide listing of Imperva's own certificates (v3 `certificates?certType=ATLAS`). */
export async function listOwnCertificates(call: Call): Promise<OwnCertificate[]> {
  const query = new URLSearchParams({ certType: 'ATLAS' });
  return call(
    { api: 'v3', siteId: '', path: 'certificates-ui/v3/certificates', query },
    parseOwnCertificates,
  );
}

/**
 * One answer of the listing: errors as on the custom listing (src/imperva/v3-certificates.ts). Entries that are
 * custom certificates (`type` CUSTOM_CERT, or custom details) are skipped: a listing may hold both.
 */
export function parseOwnCertificates(answer: HttpAnswer): OwnCertificate[] {
  if (answer.status === 429) throttled(answer);
  const json = tryJson(answer.body);
  const errors = v3Errors(json);
  if (answer.status < 200 || answer.status >= 300 || errors !== undefined || json === undefined)
    return v3Failure(answer, json, errors);
  const data = isObject(json) ? json.data : undefined;
  if (!Array.isArray(data))
    return fail(`Imperva's v3 API answered without a list of certificates (HTTP ${answer.status})`, {
      status: answer.status,
      transient: true,
    });
  const own: OwnCertificate[] = [];
  for (const item of data) {
    if (!isObject(item) || item.type === 'CUSTOM_CERT' || isObject(item.customCertificateDetails)) continue;
    const status = typeof item.status === 'string' ? item.status.toUpperCase() : '';
    const sans = Array.isArray(item.sans) ? item.sans : [];
    own.push({
      status,
      inForce: status === 'ACTIVE' || status === 'NEAR_EXPIRATION',
      names: sans.flatMap((san): OwnName[] =>
        isObject(san) && typeof san.sanValue === 'string'
          ? [
              {
                name: san.sanValue.toLowerCase(),
                validated: san.status === 'VALIDATED',
                // A name of the account-wide listing that does not say which sites it serves is counted for none:
                // counted for every site, another site's certificate would let `remove` leave this one bare.
                siteIds: readIds(san.sitesIds) ?? [],
              },
            ]
          : [],
      ),
    });
  }
  return own;
}

/**
 * v1 `sites/status` `ssl.generated_certificate` (`san`, `validation_status`), where the listing is not available.
 * Imperva documents only `pending_user_action` among the validation statuses: only one that says the work is done
 * (ISSUED_STATUS) is taken as in force. An unknown one is not: `remove` would otherwise count a certificate still
 * being validated (`in_process`, `unvalidated`) as what the site falls back to. undefined when the block is absent.
 */
const ISSUED_STATUS = /^(done|validated|completed?|issued|active)$/i;

export function readGenerated(value: unknown): OwnCertificate | undefined {
  if (!isObject(value)) return undefined;
  const status = typeof value.validation_status === 'string' ? value.validation_status : '';
  const inForce = ISSUED_STATUS.test(status);
  const san = Array.isArray(value.san) ? value.san : [];
  return {
    status,
    inForce,
    names: san
      .filter((name): name is string => typeof name === 'string')
      .map((name) => ({ name: name.toLowerCase(), validated: inForce, siteIds: undefined })),
  };
}

/**
 * Imperva's certificates in force (ACTIVE or NEAR_EXPIRATION; Imperva's NEAR_EXPIRATION says little, its own
 * certificate renews itself), by the sites their validated names serve: a site looks only at its own, not at every
 * certificate of the account. Names that do not say their sites (a site's own
 * `generated_certificate`) serve any site.
 */
export interface OwnIndex {
  bySite: Map<string, OwnName[]>;
  anySite: OwnName[];
}

export function indexOwn(own: readonly OwnCertificate[]): OwnIndex {
  const index: OwnIndex = { bySite: new Map(), anySite: [] };
  for (const certificate of own) {
    if (!certificate.inForce) continue;
    for (const name of certificate.names) {
      if (!name.validated) continue;
      if (name.siteIds === undefined) index.anySite.push(name);
      else
        for (const siteId of name.siteIds) {
          const named = index.bySite.get(siteId);
          if (named === undefined) index.bySite.set(siteId, [name]);
          else named.push(name);
        }
    }
  }
  return index;
}

/**
 * Whether Imperva's certificates in force would serve every name of the site (pure): for each name, a validated
 * name of one of them that covers it, for this site where the listing says which sites a name serves.
 */
export function fallbackCovers(index: OwnIndex, siteId: string, names: readonly string[]): boolean {
  const held = [...(index.bySite.get(siteId) ?? []), ...index.anySite];
  return names.length > 0 && names.every((name) => held.some((one) => covers(one.name, name.toLowerCase())));
}

/** What a site falls back to: the listing when it answered, else `sites/status` per site (`generated`). */
export interface FallbackSource {
  /** The account-wide listing, or undefined when it failed (then `generated` is asked per site). */
  listing: OwnIndex | undefined;
  generated: (siteId: string) => Promise<OwnCertificate | undefined>;
}

/**
 * Whether the site has a fallback covering `names`: true, false, or undefined when Imperva could not be asked
 * (`sites/status` failed as well).
 */
export async function hasFallback(
  source: FallbackSource,
  siteId: string,
  names: readonly string[],
): Promise<boolean | undefined> {
  if (source.listing !== undefined) return fallbackCovers(source.listing, siteId, names);
  try {
    const generated = await source.generated(siteId);
    return generated !== undefined && fallbackCovers(indexOwn([generated]), siteId, names);
  } catch (error) {
    if (error instanceof ApiError) return undefined;
    throw error;
  }
}

function readIds(value: unknown): string[] | undefined {
  const list = Array.isArray(value) ? value : value === undefined || value === null ? undefined : [value];
  return list
    ?.filter((id) => typeof id === 'number' || (typeof id === 'string' && /^[0-9]{1,15}$/.test(id)))
    .map(String);
}

/**
 * Whether Imperva's own certificate covers the site's `names` (src/imperva/removal.ts counts it): the account-wide
 * listing, else the site's `sites/status`; undefined when neither answers or no name is known.
 */
export async function siteFallback(
  client: Pick<ImpervaClient, 'ownCertificates' | 'status'>,
  siteId: string,
  names: readonly string[],
): Promise<boolean | undefined> {
  if (names.length === 0) return undefined;
  let listing: OwnIndex | undefined;
  try {
    listing = indexOwn(await client.ownCertificates());
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
  }
  return hasFallback(
    { listing, generated: async (site) => (await client.status(site)).generated },
    siteId,
    names,
  );
}
