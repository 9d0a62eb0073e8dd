import { ApiError } from '../model/errors.js';
import { isObject } from '../util/strict-json.js';
import { fail, isHtml, quote, throttled, tryJson, type HttpAnswer } from './answer.js';
import type { Call } from './call.js';
import { ClientError, detailsOf, withoutStack } from './errors.js';
import { raised } from './verdict.js';

/** One custom certificate a site holds, as v3 lists it (docs/imperva-api.md, "v3 certificates"). */
export interface CertificateEntry {
  siteId: string;
  keyType: 'RSA' | 'ECC';
  /** ACTIVE, NEAR_EXPIRATION, EXPIRED (as Imperva says it; '' when absent). */
  status: string;
  /** ms since the epoch; undefined when absent or not a number. */
  expirationDate: number | undefined;
  /** SHA-1 of the leaf: lowercase hex, no prefix, no colons (normalizeFingerprint); undefined when not hex. */
  fingerprintSha1: string | undefined;
  /** Lowercase hex, no colons, no leading zeros (normalizeSerial); undefined when not hex. */
  serial: string | undefined;
  inputHash: string | undefined;
  /** v3 `siteName`: the site's own name at Imperva, when the entry says it. */
  siteName?: string | undefined;
  /** v3 `hasMismatchSite`: Imperva finds the certificate does not cover the site (its coverageError). */
  mismatch: boolean;
}

/**
 * The custom certificates (one per key type) from the v3 API: of one site, or of the whole account without
 * `siteId`. Throws a ClientError with code 'V3_UNAVAILABLE' when v3 is forbidden, absent or keeps failing: fall
 * back to v1 `sites/status`.
 */
export async function listCertificates(call: Call, siteId?: string): Promise<CertificateEntry[]> {
  const query = new URLSearchParams({ certType: 'CUSTOM_CERT' });
  if (siteId !== undefined) query.set('extSiteId', siteId);
  try {
    return await call(
      { api: 'v3', siteId: siteId ?? '', path: 'certificates-ui/v3/certificates', query },
      (answer) => parseCertificates(answer, siteId),
    );
  } catch (thrown) {
    if (!(thrown instanceof ApiError) || thrown instanceof ClientError) throw thrown;
    // Whatever else kept failing, v1 may still answer.
    throw withoutStack(() => new ClientError(thrown.message, detailsOf(thrown), 'V3_UNAVAILABLE'));
  }
}

/**
 * Classifies one answer of the v3 certificates API (docs/imperva-api.md, "v3 errors"). An `errors` list is a failure
 * whatever the HTTP status (Imperva sends it with 200 too, the status then inside the error); a body that is not
 * JSON is a server error. 401 may be a propagation race rather than the credentials: transient, retried once
 * (retry.ts), then the listing counts as unavailable and the caller reads v1, whose answer about the credentials is
 * conclusive. 403, 404 and 400 ("Not Found" for an account without the feature) mean v3 is not for this key
 * (V3_UNAVAILABLE: fall back to v1); 429, 5xx and answers that are not the documented JSON are transient, as on v1.
 * `siteId`, when given, keeps only that site's entries.
 */
export function parseCertificates(answer: HttpAnswer, siteId?: string): CertificateEntry[] {
  if (answer.status === 429) throttled(answer);
  const json = tryJson(answer.body);
  const errors = v3Errors(json);
  if (answer.status < 200 || answer.status >= 300 || errors !== undefined || json === undefined) {
    return v3Failure(answer, json, errors);
  }
  const data = isObject(json) ? json.data : undefined;
  if (!Array.isArray(data)) {
    return fail(`Imperva's v3 API answered without a list of certificates (HTTP ${answer.status})`, {
      status: answer.status,
      transient: true,
    });
  }
  const entries: CertificateEntry[] = [];
  for (const item of data) {
    const entry = readCertificateEntry(item);
    if (entry !== undefined && (siteId === undefined || entry.siteId === siteId)) entries.push(entry);
  }
  return entries;
}

/**
 * The errors a v3 answer carries: a non-empty `errors` list, or one error given alone (an object or a text). Only a
 * list is documented; `{"data": [], "errors": "…"}` read as "no certificates" re-uploaded to a site that holds one.
 */
export function v3Errors(json: unknown): unknown[] | undefined {
  const errors = isObject(json) ? json.errors : undefined;
  if (Array.isArray(errors)) return errors.length > 0 ? errors : undefined;
  if (isObject(errors)) return Object.keys(errors).length > 0 ? [errors] : undefined;
  return typeof errors === 'string' && errors.trim() !== '' ? [errors] : undefined;
}

export function v3Failure(answer: HttpAnswer, json: unknown, errors: unknown[] | undefined): never {
  const ok = answer.status >= 200 && answer.status < 300;
  if (json === undefined) {
    // Imperva's front (HTML) or a plain-text server error ("error" with HTTP 500): a server error, not "none".
    const what = isHtml(answer) ? 'an HTML page' : 'a body that is not JSON';
    return fail(`Imperva's v3 API answered HTTP ${answer.status} with ${what}`, {
      status: answer.status,
      transient: ok || answer.status >= 500,
    });
  }
  // An error list inside an HTTP 200 carries the real status in its first entry.
  const first: unknown = errors?.[0];
  const inner = isObject(first) ? Number(first.status) : Number.NaN;
  const status = !ok ? answer.status : Number.isInteger(inner) && inner >= 400 && inner < 600 ? inner : 500;
  const said = v3Detail(json);
  const shown = ok ? `HTTP ${answer.status} with error ${status}` : `HTTP ${answer.status}`;
  const message = `Imperva's v3 API answered ${shown}${said === undefined ? '' : ` "${said}"`}`;
  if (status === 401) return fail(`${message} (authentication refused)`, { status, transient: true });
  if (status === 400 || status === 403 || status === 404) {
    throw withoutStack(() => new ClientError(message, { status, transient: false }, 'V3_UNAVAILABLE'));
  }
  return fail(message, { status, transient: status >= 500 });
}

/**
 * One entry of a custom certificate. Listings also hold Imperva's own certificates (`type` ATLAS, or no `type` and
 * an `ATLAS_…` name at `level` ACCOUNT, without `extSiteId`, even for a per-site query): only entries that say
 * CUSTOM_CERT, or carry `customCertificateDetails`, and name their site, are kept. Legacy certificates show an empty
 * fingerprint and serial: they are read as unknown (undefined), never as a mismatch.
 */
function readCertificateEntry(item: unknown): CertificateEntry | undefined {
  if (!isObject(item)) return undefined;
  const custom =
    item.type === undefined ? isObject(item.customCertificateDetails) : item.type === 'CUSTOM_CERT';
  const keyType = readKeyType(item.authType);
  const site = readId(item.extSiteId);
  if (!custom || keyType === undefined || site === undefined) return undefined;
  const details = isObject(item.customCertificateDetails) ? item.customCertificateDetails : {};
  // Milliseconds, as a number or its digits; anything else (null, an empty text, true) is an unknown expiry.
  const given = item.expirationDate;
  const expiration =
    typeof given === 'number' || (typeof given === 'string' && given.trim() !== '')
      ? Number(given)
      : Number.NaN;
  return {
    siteId: site,
    keyType,
    status: typeof item.status === 'string' ? item.status : '',
    expirationDate:
      // A number past what a Date holds (8.64e15 ms) could not be printed: unknown, like one that is not a number.
      Number.isNaN(new Date(expiration).getTime()) ? undefined : expiration,
    fingerprintSha1:
      typeof details.fingerprint === 'string' ? normalizeFingerprint(details.fingerprint) : undefined,
    serial: typeof details.serialNumber === 'string' ? normalizeSerial(details.serialNumber) : undefined,
    inputHash: typeof details.inputHash === 'string' ? details.inputHash : undefined,
    siteName: typeof item.siteName === 'string' ? item.siteName : undefined,
    mismatch: raised(details.hasMismatchSite),
  };
}

function readKeyType(value: unknown): 'RSA' | 'ECC' | undefined {
  if (typeof value !== 'string') return undefined;
  const type = value.toUpperCase();
  if (type === 'RSA') return 'RSA';
  if (type === 'ECC' || type === 'EC' || type === 'ECDSA') return 'ECC';
  return undefined;
}

function readId(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  if (typeof value === 'string' && /^[0-9]{1,15}$/.test(value)) return value;
  return undefined;
}

function v3Detail(json: unknown): string | undefined {
  const errors = isObject(json) ? json.errors : undefined;
  const first: unknown = Array.isArray(errors) ? errors[0] : undefined;
  if (!isObject(first)) return undefined;
  const text = [first.title, first.detail]
    .filter((part) => typeof part === 'string' && part !== '')
    .join(': ');
  return text === '' ? undefined : quote(text);
}

/**
 * A SHA-1 fingerprint in any of the forms seen (`SHA1 Fingerprint=AA:BB:…`, `aabb…`, spaces): lowercase hex without
 * prefix or separators; undefined when what remains is not 40 hex digits.
 */
export function normalizeFingerprint(value: string): string | undefined {
  const hex = value
    .replace(/^[^=]*=/, '')
    .replace(/[\s:]/g, '')
    .toLowerCase();
  return /^[0-9a-f]{40}$/.test(hex) ? hex : undefined;
}

/**
 * A serial number in any of the forms seen (`0A:1B:…`, `0x0a1b`, upper or lower case): lowercase hex without
 * prefix, separators or leading zeros, so that `00:0A:1B` and `a1b` compare equal. Use it on both sides of a
 * comparison (the local certificate's `serial` too). Undefined when not hex.
 */
export function normalizeSerial(value: string): string | undefined {
  const hex = value
    .replace(/^[^=]*=/, '')
    .replace(/[\s:]/g, '')
    .toLowerCase()
    .replace(/^0x/, '');
  if (!/^[0-9a-f]{1,128}$/.test(hex)) return undefined;
  return hex.replace(/^0+(?=.)/, '');
}
