import { ApiError } from '../model/errors.js';
import { isObject } from '../util/strict-json.js';
import { fail, isHtml, quote, throttled, tryJson, type HttpAnswer } from './answer.js';
import type { Call } from './call.js';
import { ClientError, detailsOf, withoutStack } from './errors.js';

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
    return await call({ api: 'v3', siteId: siteId ?? '', path: 'certificates', query }, (answer) =>
      parseCertificates(answer, siteId),
    );
  } catch (thrown) {
    if (!(thrown instanceof ApiError) || thrown instanceof ClientError) throw thrown;
    // Whatever else kept failing, v1 may still answer.
    throw withoutStack(() => new ClientError(thrown.message, detailsOf(thrown), 'V3_UNAVAILABLE'));
  }
}

/**
 * Classifies one answer of the v3 certificates API. v3 answers with real HTTP statuses and
 * `{"errors":[{status,id,title,detail}]}`: 401 is the credentials (CREDENTIALS), 403 and 404 mean v3 is not for
 * this key or account (V3_UNAVAILABLE: fall back to v1); 429, 5xx and answers that are not the documented JSON are
 * transient, as on v1. `siteId`, when given, keeps only that site's entries.
 */
export function parseCertificates(answer: HttpAnswer, siteId?: string): CertificateEntry[] {
  const { status } = answer;
  if (status === 429) throttled(answer);
  const json = tryJson(answer.body);
  if (status < 200 || status >= 300) {
    const said = v3Detail(json);
    const message = `Imperva's v3 API answered HTTP ${status}${said === undefined ? '' : ` "${said}"`}`;
    if (status === 401) {
      throw withoutStack(
        () =>
          new ClientError(
            `${message} (authentication failed: check api.id and api.key)`,
            { status, transient: false },
            'CREDENTIALS',
          ),
      );
    }
    if (status === 403 || status === 404) {
      throw withoutStack(() => new ClientError(message, { status, transient: false }, 'V3_UNAVAILABLE'));
    }
    return fail(status >= 500 && isHtml(answer) ? `${message} with an HTML page` : message, {
      status,
      transient: status >= 500,
    });
  }
  const data = isObject(json) ? json.data : undefined;
  if (!Array.isArray(data)) {
    return fail(`Imperva's v3 API answered without a list of certificates (HTTP ${status})`, {
      status,
      transient: true,
    });
  }
  const entries: CertificateEntry[] = [];
  for (const item of data) {
    const entry = readCertificateEntry(item, siteId);
    if (entry !== undefined && (siteId === undefined || entry.siteId === siteId)) entries.push(entry);
  }
  return entries;
}

function readCertificateEntry(item: unknown, siteId: string | undefined): CertificateEntry | undefined {
  if (!isObject(item)) return undefined;
  if (item.type !== undefined && item.type !== 'CUSTOM_CERT') return undefined;
  const keyType = readKeyType(item.authType);
  const site = readId(item.extSiteId) ?? siteId;
  if (keyType === undefined || site === undefined) return undefined;
  const details = isObject(item.customCertificateDetails) ? item.customCertificateDetails : {};
  const expiration =
    typeof item.expirationDate === 'number' ? item.expirationDate : Number(item.expirationDate);
  return {
    siteId: site,
    keyType,
    status: typeof item.status === 'string' ? item.status : '',
    expirationDate:
      item.expirationDate === undefined || item.expirationDate === null || !Number.isFinite(expiration)
        ? undefined
        : expiration,
    fingerprintSha1:
      typeof details.fingerprint === 'string' ? normalizeFingerprint(details.fingerprint) : undefined,
    serial: typeof details.serialNumber === 'string' ? normalizeSerial(details.serialNumber) : undefined,
    inputHash: typeof details.inputHash === 'string' ? details.inputHash : undefined,
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
