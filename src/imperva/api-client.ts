/**
 * The API key's own record (v3 `GET /authorization/v3/api-clients?id=ID`): whether it is enabled and when it expires
 * (docs/operations.md, "The API key"). Imperva's answer carries the key itself (`apiKey`): it is dropped while the
 * JSON is parsed, so it never reaches an object, a log line, an error or a state file.
 */
import { isForbiddenKey, isObject } from '../util/strict-json.js';
import { fail, throttled, type HttpAnswer } from './answer.js';
import type { Call } from './call.js';
import { v3Errors, v3Failure } from './v3-certificates.js';

/** What the key's record says; `tracked: false` when the key may not read it (and why, for -v). */
export type KeyRecord =
  | { tracked: true; enabled: boolean | undefined; expiresAt: Date | undefined }
  | { tracked: false; why: string };

/** Reads the record of the key with API id `apiId`. Throws an ApiError only for failures a retry did not mend. */
export async function readKeyRecord(call: Call, apiId: string): Promise<KeyRecord> {
  const query = new URLSearchParams({ id: apiId });
  return call({ api: 'v3', siteId: '', path: 'authorization/v3/api-clients', query }, (answer) =>
    parseKeyRecord(answer, apiId),
  );
}

/**
 * Field names that may hold the key (or any secret) in an api-clients answer: never kept. Only `apiKey` is
 * documented, so any name that says key, secret, password, token or credential goes (`apiKeyValue`,
 * `client_secret`); none of the fields the watch reads says so.
 */
const SECRET_FIELDS = /key|secret|passw|token|credential/i;

/**
 * The body as JSON without its secrets: a reviver drops them as they are parsed. Keys that name what every object
 * inherits are dropped too. undefined when the body is not JSON.
 */
export function parseWithoutSecrets(body: string): unknown {
  try {
    return JSON.parse(body, (key, value: unknown) =>
      SECRET_FIELDS.test(key) || isForbiddenKey(key) ? undefined : value,
    );
  } catch {
    return undefined;
  }
}

/**
 * One answer of the api-clients API. 401, 403 and 404 (and 400, as Imperva says "Not Found" with it) mean the key
 * may not read its own record: not tracked. 429, 5xx and bodies that are not JSON are transient, as on v3's
 * certificates listing.
 */
export function parseKeyRecord(answer: HttpAnswer, apiId: string): KeyRecord {
  if (answer.status === 429) throttled(answer);
  const json = parseWithoutSecrets(answer.body);
  const errors = v3Errors(json);
  if (answer.status < 200 || answer.status >= 300 || errors !== undefined || json === undefined) {
    const inner = isObject(errors?.[0]) ? Number(errors[0].status) : Number.NaN;
    const status =
      answer.status >= 200 && answer.status < 300 && Number.isInteger(inner) ? inner : answer.status;
    if (json !== undefined && [400, 401, 403, 404].includes(status))
      return { tracked: false, why: `Imperva's api-clients API answered HTTP ${status}` };
    // Imperva's own words (an error's title and detail) are not quoted: this answer is the one that carries a
    // secret, and an error could echo it under a name the reviver does not know.
    return v3Failure(answer, json === undefined ? undefined : {}, errors);
  }
  const data = isObject(json) ? json.data : undefined;
  if (!Array.isArray(data))
    return fail(`Imperva's api-clients API answered without a list (HTTP ${answer.status})`, {
      status: answer.status,
      transient: true,
    });
  // The query names the key: the record with its id. A lone record that says no id is taken as its own; one that
  // names another key is not this key's expiry.
  const lone: unknown = data.length === 1 ? data[0] : undefined;
  const record: unknown =
    isObject(lone) && lone.id === undefined
      ? lone
      : data.find((item) => isObject(item) && String(item.id) === apiId);
  if (!isObject(record))
    return { tracked: false, why: `Imperva's api-clients API lists no key with id ${apiId}` };
  return {
    tracked: true,
    enabled: typeof record.enabled === 'boolean' ? record.enabled : undefined,
    expiresAt: readDate(record.expirationDate),
  };
}

/**
 * `expirationDate`: ms since the epoch as everywhere in Imperva's v3 answers, or a date text; undefined when absent,
 * null (a key that never expires), unreadable or past what a Date can hold.
 */
function readDate(value: unknown): Date | undefined {
  const ms = typeof value === 'number' ? value : typeof value === 'string' ? Date.parse(value) : Number.NaN;
  // A number past what a Date holds (8.64e15 ms) makes an invalid Date, which cannot be printed: no date either.
  const date = new Date(ms);
  return ms > 0 && Number.isFinite(date.getTime()) ? date : undefined;
}
