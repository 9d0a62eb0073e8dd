import { isObject } from '../util/strict-json.js';
import { fail, isHtml, quote, throttled, tryJson, type HttpAnswer } from './answer.js';

/** A v1 answer that said `res: 0`. */
export interface Envelope {
  resMessage: string;
  body: Record<string, unknown>;
}

/**
 * What some `res` codes mean and, for the refusals only the operator can mend, what to do (docs/imperva-api.md,
 * "Responses"). REFUSAL_FIXES are never retried: the same request gets the same answer until the fix is made.
 */
const RES_HINTS: Record<number, string> = {
  1: 'unexpected error',
  2: 'invalid input',
  4: 'operation timed out or server unavailable',
  3011: 'site unresolvable',
  3015: 'internal error',
  9403: 'unknown or unauthorized account: check api.id, and that the key belongs to this account',
  9411: 'authentication missing or invalid: check api.id and api.key',
  9418: 'the API key is disabled: enable it again, or create a new one, in the Imperva console',
};

/** The refusals of one site that the operator must mend, with the fix (and the one sentence naming the cause). */
export const REFUSAL_FIXES: Record<number, string> = {
  4205: "the site has no SSL support: turn on SSL for the site in Imperva's console first",
  9413: 'unknown or unauthorized site id: check the sites map',
  9414: "the account's plan has no custom certificates: it needs a plan that includes them",
  9415: 'the operation is not allowed on this account type: ask Imperva support',
};

/** Imperva's `res` codes that production clients retry: 4 (timed out/unavailable) and 3015 (internal error). */
const TRANSIENT_RES = new Set([4, 3015]);

/** Imperva refuses the credentials: no later call of the run can succeed (see ClientError 'CREDENTIALS'). */
export const CREDENTIAL_RES = new Set([9403, 9411, 9418]);

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
  const hint = RES_HINTS[res] ?? REFUSAL_FIXES[res];
  const said = resMessage === undefined ? '' : ` "${resMessage}"`;
  return fail(`Imperva answered res ${res}${said}${hint === undefined ? '' : ` (${hint})`}`, {
    res,
    ...(resMessage === undefined ? {} : { resMessage }),
    status,
    transient: TRANSIENT_RES.has(res),
  });
}
