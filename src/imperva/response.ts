import { isObject } from '../util/strict-json.js';
import { ApiError } from '../errors.js';
import { ClientError, withoutStack } from './errors.js';

/** A v1 answer that said `res: 0`. */
export interface Envelope {
  resMessage: string;
  body: Record<string, unknown>;
}

export interface HttpAnswer {
  status: number;
  contentType: string | undefined;
  retryAfter: string | undefined;
  body: string;
}

/** What some `res` codes mean, to say what to do (docs/imperva-api.md, "Responses"). */
const RES_HINTS: Record<number, string> = {
  1: 'unexpected error',
  2: 'invalid input',
  4: 'operation timed out or server unavailable',
  3011: 'site unresolvable',
  3015: 'internal error',
  9403: 'unknown or unauthorized account: check api.id',
  9411: 'authentication missing or invalid: check api.id and api.key',
  9413: 'unknown or unauthorized site id: check the sites map',
  9414: "feature not permitted: the site's plan has no custom certificates",
  9415: 'operation not allowed',
  9418: 'the API key is disabled',
};

/** Imperva's `res` codes that production clients retry: 4 (timed out/unavailable) and 3015 (internal error). */
const TRANSIENT_RES = new Set([4, 3015]);

/** Imperva refuses the credentials: no later call of the run can succeed (see ClientError 'CREDENTIALS'). */
export const CREDENTIAL_RES = new Set([9403, 9411, 9418]);

/**
 * The longest text from Imperva (res_message, a v3 error's detail) quoted in a message. Longer ones are not quoted
 * at all rather than cut: a cut could keep part of a secret that Imperva echoed and that the redactor, which runs
 * later on the whole line, would then no longer recognize.
 */
export const MAX_QUOTED_CHARS = 200;

/**
 * Classifies one HTTP answer from Imperva's v1 API. Success is HTTP 2xx with a JSON object whose `res` is exactly
 * the number 0 or the string "0". Anything else throws an ApiError saying whether a retry may help: throttling
 * (429), Imperva's front failing (5xx), any body that is not JSON (Imperva's front answers with HTML pages, even
 * with HTTP 200), a `res` that is not a code at all (missing, null, empty, boolean, a list...: an answer that did
 * not come from the API backend as documented), and `res` 4 or 3015.
 */
export function parseAnswer(answer: HttpAnswer): Envelope {
  const { status } = answer;
  const html = isHtml(answer);
  const json = tryJson(answer.body);
  const envelope = isObject(json) && 'res' in json ? json : undefined;

  if (status === 429) throttled(answer);
  if (status >= 500) {
    return fail(`Imperva answered HTTP ${status}${html ? ' with an HTML page' : ''}`, {
      status,
      transient: true,
    });
  }
  if (status < 200 || status >= 300) {
    if (envelope !== undefined && resCode(envelope.res) !== undefined) return failRes(envelope, status);
    return fail(`Imperva answered HTTP ${status}${html ? ' with an HTML page' : ''}`, {
      status,
      transient: false,
    });
  }
  if (json === undefined) {
    return fail(
      html
        ? `Imperva answered with an HTML page instead of JSON (HTTP ${status})`
        : `Imperva answered with something that is not JSON (HTTP ${status})`,
      { status, transient: true },
    );
  }
  if (envelope === undefined) {
    return fail(`Imperva answered JSON without a res code (HTTP ${status})`, { status, transient: true });
  }
  const res = envelope.res;
  if (res === 0 || res === '0') {
    return {
      resMessage: typeof envelope.res_message === 'string' ? (quote(envelope.res_message) ?? 'OK') : 'OK',
      body: envelope,
    };
  }
  if (resCode(res) === undefined) {
    return fail(`Imperva answered an unexpected res (${describeValue(res)}) (HTTP ${status})`, {
      status,
      transient: true,
    });
  }
  return failRes(envelope, status);
}

/** A `res` that is an error code: a positive integer, as a number or as a string of digits. */
function resCode(res: unknown): number | undefined {
  if (typeof res === 'number') return Number.isSafeInteger(res) && res > 0 ? res : undefined;
  if (typeof res === 'string' && /^[1-9][0-9]{0,8}$/.test(res)) return Number(res);
  return undefined;
}

/** What kind of odd `res` arrived, without quoting it (it could be anything, of any length). */
function describeValue(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string')
    return value.trim() === '' ? 'an empty string' : 'a string that is not a code';
  if (typeof value === 'number') return 'a number that is not a code';
  return `a ${typeof value}`;
}

function failRes(envelope: Record<string, unknown>, status: number): never {
  const res = resCode(envelope.res) ?? -1;
  const resMessage = typeof envelope.res_message === 'string' ? quote(envelope.res_message) : undefined;
  const hint = RES_HINTS[res];
  const said = resMessage === undefined ? '' : ` "${resMessage}"`;
  return fail(`Imperva answered res ${res}${said}${hint === undefined ? '' : ` (${hint})`}`, {
    res,
    ...(resMessage === undefined ? {} : { resMessage }),
    status,
    transient: TRANSIENT_RES.has(res),
  });
}

function throttled(answer: HttpAnswer): never {
  const retryAfterSeconds = parseRetryAfter(answer.retryAfter);
  return fail(`Imperva is throttling requests (HTTP 429)`, {
    status: 429,
    transient: true,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  });
}

function fail(message: string, details: ConstructorParameters<typeof ApiError>[1]): never {
  throw withoutStack(() => new ApiError(message, details));
}

/**
 * `Retry-After` is seconds (digits, a fraction tolerated) or an IMF-fixdate. Anything else — a negative number,
 * garbage, a date in another format — is ignored (undefined); a date in the past is 0. The floor of every
 * throttled wait is applied where the wait is decided (retry.ts), not here.
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^[0-9]{1,9}(\.[0-9]{1,9})?$/.test(text)) return Number(text);
  if (!/^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$/.test(text))
    return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

function isHtml(answer: HttpAnswer): boolean {
  return /html/i.test(answer.contentType ?? '') || /^\s*</.test(answer.body);
}

function tryJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** Imperva's text on one line, or undefined when it is too long to quote whole (see MAX_QUOTED_CHARS). */
export function quote(text: string): string | undefined {
  // eslint-disable-next-line no-control-regex -- control characters are what is being removed
  const line = text.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
  return line.length <= MAX_QUOTED_CHARS ? line : undefined;
}

/** Imperva's verdict on an uploaded certificate, from `debug_info.details` or `ssl.custom_certificate`. */
export interface CertificateVerdict {
  active: boolean | undefined;
  expirationDate: number | undefined;
  inputHash: string | undefined;
  chainError: boolean;
  validityError: boolean;
  hostnameMismatchError: boolean;
  revocationError: boolean;
}

export function readVerdict(details: unknown): CertificateVerdict | undefined {
  if (!isObject(details)) return undefined;
  const expiration = Number(details.expirationDate);
  return {
    active: typeof details.active === 'boolean' ? details.active : undefined,
    expirationDate:
      details.expirationDate === undefined || !Number.isFinite(expiration) ? undefined : expiration,
    inputHash: typeof details.inputHash === 'string' ? details.inputHash : undefined,
    chainError: details.chainError === true,
    validityError: details.validityError === true,
    hostnameMismatchError: details.hostnameMismatchError === true,
    revocationError: details.revocationError === true,
  };
}

/**
 * What is worth a warning after a successful upload: Imperva reads another expiry than the leaf's notAfter, or
 * flags the chain, the validity or the hostname.
 */
export function verdictWarnings(verdict: CertificateVerdict | undefined, notAfter: Date): string[] {
  if (verdict === undefined) return [];
  const warnings: string[] = [];
  if (verdict.expirationDate !== undefined && verdict.expirationDate !== notAfter.getTime()) {
    warnings.push(
      `Imperva reports expiry ${new Date(verdict.expirationDate).toISOString()}, but the certificate's notAfter is ${notAfter.toISOString()}`,
    );
  }
  if (verdict.chainError) warnings.push('Imperva reports a chain error (is the full chain uploaded?)');
  if (verdict.validityError) warnings.push('Imperva reports a validity error');
  if (verdict.hostnameMismatchError)
    warnings.push("Imperva reports the certificate does not cover the site's hostname");
  return warnings;
}

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

/** One DNS record Imperva asks for a site (`dns` in `sites/status`): the CNAME target is the site's edge. */
export interface DnsRecord {
  name: string;
  type: string;
  targets: string[];
}

/** `set_data_to` arrives as a string or a list of strings; anything else is skipped. */
export function readDns(value: unknown): DnsRecord[] {
  if (!Array.isArray(value)) return [];
  const records: DnsRecord[] = [];
  for (const item of value.slice(0, 100)) {
    if (!isObject(item) || typeof item.dns_record_name !== 'string') continue;
    const data = item.set_data_to;
    const targets = (Array.isArray(data) ? data : [data]).filter(
      (target): target is string => typeof target === 'string' && target !== '',
    );
    records.push({
      name: item.dns_record_name,
      type: typeof item.set_type_to === 'string' ? item.set_type_to : '',
      targets,
    });
  }
  return records;
}
