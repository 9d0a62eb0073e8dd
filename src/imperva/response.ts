import { ApiError } from '../errors.js';

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

/** What some `res` codes mean, to say what to do (docs/imperva-api.md). */
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
};

/** Imperva's `res` codes that production clients retry: 4 (timed out/unavailable) and 3015 (internal error). */
const TRANSIENT_RES = new Set([4, 3015]);

/**
 * Classifies one HTTP answer from Imperva's v1 API. Success is HTTP 2xx with a JSON envelope whose `res` is 0
 * (number or string). Anything else throws an ApiError saying whether a retry may help: throttling (429), Imperva's
 * front failing (5xx), any body that is not JSON (Imperva's front answers with HTML pages, even with HTTP 200),
 * and `res` 4 or 3015.
 */
export function parseAnswer(answer: HttpAnswer): Envelope {
  const { status } = answer;
  const html = /html/i.test(answer.contentType ?? '') || /^\s*</.test(answer.body);
  const json = tryJson(answer.body);
  const envelope = isObject(json) && 'res' in json ? json : undefined;

  if (status === 429) {
    const retryAfterSeconds = parseRetryAfter(answer.retryAfter);
    return fail(`Imperva is throttling requests (HTTP 429)`, {
      status,
      transient: true,
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    });
  }
  if (status >= 500) {
    return fail(`Imperva answered HTTP ${status}${html ? ' with an HTML page' : ''}`, {
      status,
      transient: true,
    });
  }
  if (status < 200 || status >= 300) {
    if (envelope !== undefined) return failRes(envelope, status);
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
  if (Number(envelope.res) !== 0) return failRes(envelope, status);
  return {
    resMessage: typeof envelope.res_message === 'string' ? envelope.res_message : 'OK',
    body: envelope,
  };
}

function failRes(envelope: Record<string, unknown>, status: number): never {
  const res = Number(envelope.res);
  const resMessage = typeof envelope.res_message === 'string' ? envelope.res_message : undefined;
  const hint = RES_HINTS[res];
  const said = resMessage === undefined ? '' : ` "${oneLine(resMessage)}"`;
  return fail(
    `Imperva answered res ${String(envelope.res)}${said}${hint === undefined ? '' : ` (${hint})`}`,
    {
      res: Number.isFinite(res) ? res : -1,
      ...(resMessage === undefined ? {} : { resMessage }),
      status,
      transient: TRANSIENT_RES.has(res),
    },
  );
}

function fail(message: string, details: ConstructorParameters<typeof ApiError>[1]): never {
  throw new ApiError(message, details);
}

/** `Retry-After` is seconds or an HTTP date. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

function tryJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 200);
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
