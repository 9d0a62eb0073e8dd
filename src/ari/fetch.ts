/**
 * Asking the CA (RFC 9773): its ACME directory names the `renewalInfo` resource; a GET of
 * `renewalInfo/<certificate identifier>` answers the suggested window, an optional explanationURL, and a
 * Retry-After that says when to ask again. Only https, or plain http to a loopback address (a test CA); through the
 * proxy the *_PROXY variables name, as the API is reached (src/imperva/proxy.ts). No credentials are sent.
 */
import { isIP } from 'node:net';
import { proxyFor } from '../imperva/proxy.js';
import type { RunBounds } from '../state/state-file.js';
import { VERSION } from '../util/version.js';
import { isObject, parseStrictJson } from '../util/strict-json.js';

/** A directory or a renewalInfo answer is a few hundred bytes; anything much bigger is not one. */
const MAX_ANSWER_BYTES = 64 * 1024;
const TIMEOUT_MS = 10_000;
/** When the CA names no Retry-After, and the floor and ceiling of what it names (RFC 9773 section 4.3). */
export const DEFAULT_RETRY_MS = 6 * 3_600_000;
const MIN_RETRY_MS = 60_000;
const MAX_RETRY_MS = 24 * 3_600_000;
/** After a failure: ask again after this long. */
export const FAILURE_RETRY_MS = 3_600_000;

export interface CaWindow {
  start: Date;
  end: Date;
  explanationUrl?: string | undefined;
}

/** What one question got: a window, or why not; and when to ask again (ms from now). */
export type CaAnswer =
  | { window: CaWindow; retryMs: number }
  /**
   * `unreachable`: no answer at all (no connection, a timeout), not an answer that holds no window. When the run's
   * deadline or stop came first, neither: retryMs is 0, and the question is the next run's, at once.
   */
  | { problem: string; retryMs: number; unreachable?: boolean };

/** The run's deadline or stop came before the CA answered: the question is left for the next run. */
export class NotAskedError extends Error {}

/** Why no question may start now, or undefined: the run was asked to stop, or its deadline has come. */
export function notAskedReason(bounds: RunBounds): string | undefined {
  if (bounds.signal?.aborted === true) return 'not asked: the run was asked to stop';
  if (bounds.endsAt !== undefined && Date.now() >= bounds.endsAt)
    return "not asked: the run's deadline came first";
  return undefined;
}

/** Why `url` may not be asked, or undefined: https anywhere, plain http only on a loopback address. */
export function refusedUrl(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${url} is not a URL`;
  }
  if (parsed.username !== '' || parsed.password !== '')
    return `${parsed.host}: a URL with credentials is refused`;
  if (parsed.protocol === 'https:') return undefined;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const loopback =
    host === 'localhost' ||
    (isIP(host) === 4 && host.startsWith('127.')) ||
    (isIP(host) === 6 && host === '::1');
  if (parsed.protocol === 'http:' && loopback) return undefined;
  return `${parsed.protocol}//${parsed.host}: only https is used (plain http only on a loopback address)`;
}

/** Retry-After (seconds or an HTTP date), kept between a minute and a day; the default when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now: Date, fallback = DEFAULT_RETRY_MS): number {
  if (header === undefined) return fallback;
  let ms: number;
  if (/^\d{1,10}$/.test(header.trim())) ms = Number(header.trim()) * 1000;
  else {
    const at = Date.parse(header);
    if (Number.isNaN(at)) return fallback;
    ms = at - now.getTime();
  }
  return Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, ms));
}

interface Answer {
  status: number;
  body: string;
  retryAfter: string | undefined;
}

/**
 * One GET, bounded by its own timeout, the run's deadline and its stop signal: a CA that never answers cannot keep a
 * run (a hook, the timer's run) past the deadline it was given, and SIGTERM ends the request at once.
 */
async function get(url: string, bounds: RunBounds): Promise<Answer> {
  const refused = refusedUrl(url);
  if (refused !== undefined) throw new Error(refused);
  const before = notAskedReason(bounds);
  if (before !== undefined) throw new NotAskedError(before);
  const { default: got } = await import('got');
  const proxy = await proxyFor(url, {});
  const leftMs = bounds.endsAt === undefined ? TIMEOUT_MS : bounds.endsAt - Date.now();
  const cutByDeadline = leftMs < TIMEOUT_MS;
  const request = got(url, {
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    timeout: { request: Math.max(1, Math.min(TIMEOUT_MS, leftMs)) },
    ...(bounds.signal === undefined ? {} : { signal: bounds.signal }),
    headers: { 'user-agent': `incap-cert/${VERSION}`, accept: 'application/json' },
    ...(proxy === undefined ? {} : { agent: proxy.agents }),
  });
  void request.on('downloadProgress', ({ transferred }: { transferred: number }) => {
    if (transferred > MAX_ANSWER_BYTES) request.cancel();
  });
  try {
    const response = await request;
    const retryAfter = response.headers['retry-after'];
    return { status: response.statusCode, body: response.body, retryAfter };
  } catch (error) {
    // got's errors carry the request's options; only the cause is told.
    if (request.isCanceled) throw new Error(`${new URL(url).host} answered more than 64 KiB`);
    const code = (error as { code?: string }).code;
    const host = new URL(url).host;
    if (bounds.signal?.aborted === true)
      throw new NotAskedError(`not asked: the run was asked to stop before ${host} answered`);
    if (code === 'ETIMEDOUT' && cutByDeadline)
      throw new NotAskedError(`not asked: the run's deadline came before ${host} answered`);
    throw new Error(`no answer from ${host} (${code ?? 'unknown error'})`);
  }
}

/** The `renewalInfo` URL the ACME directory at `directoryUrl` names; undefined when it names none (no ARI). */
export async function renewalInfoUrl(
  directoryUrl: string,
  bounds: RunBounds = {},
): Promise<string | undefined> {
  const answer = await get(directoryUrl, bounds);
  if (answer.status !== 200)
    throw new Error(`the ACME directory ${directoryUrl} answered HTTP ${answer.status}`);
  let json: unknown;
  try {
    json = parseStrictJson(answer.body);
  } catch {
    throw new Error(`the ACME directory ${directoryUrl} is not JSON`);
  }
  if (!isObject(json)) throw new Error(`the ACME directory ${directoryUrl} is not a JSON object`);
  const url = json.renewalInfo;
  if (url === undefined) return undefined;
  if (typeof url !== 'string' || refusedUrl(url) !== undefined)
    throw new Error(`the ACME directory ${directoryUrl} names a renewalInfo that is not an https URL`);
  return url;
}

/** Asks the CA for the window of the certificate `id`. Never throws. */
export async function askWindow(
  renewalInfo: string,
  id: string,
  now: Date,
  bounds: RunBounds = {},
): Promise<CaAnswer> {
  const url = `${renewalInfo.replace(/\/+$/, '')}/${id}`;
  let answer: Answer;
  try {
    answer = await get(url, bounds);
  } catch (error) {
    if (error instanceof NotAskedError) return { problem: error.message, retryMs: 0 };
    return { problem: (error as Error).message, retryMs: FAILURE_RETRY_MS, unreachable: true };
  }
  const host = new URL(url).host;
  if (answer.status !== 200) {
    const why = answer.status === 404 ? 'does not know the certificate' : `answered HTTP ${answer.status}`;
    return {
      problem: `the CA's renewalInfo at ${host} ${why}`,
      retryMs: retryAfterMs(answer.retryAfter, now, FAILURE_RETRY_MS),
    };
  }
  const window = readWindow(answer.body);
  if (window === undefined)
    return {
      problem: `the CA's renewalInfo at ${host} answered no valid suggestedWindow`,
      retryMs: FAILURE_RETRY_MS,
    };
  return { window, retryMs: retryAfterMs(answer.retryAfter, now) };
}

/** `{"suggestedWindow": {"start", "end"}, "explanationURL"?}`, start before end; undefined when it is not that. */
export function readWindow(body: string): CaWindow | undefined {
  let json: unknown;
  try {
    json = parseStrictJson(body);
  } catch {
    return undefined;
  }
  if (!isObject(json) || !isObject(json.suggestedWindow)) return undefined;
  const { start, end } = json.suggestedWindow;
  if (typeof start !== 'string' || typeof end !== 'string' || start.length > 40 || end.length > 40)
    return undefined;
  const from = new Date(start);
  const to = new Date(end);
  if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || to.getTime() <= from.getTime())
    return undefined;
  const explanation = json.explanationURL;
  const explanationUrl =
    typeof explanation === 'string' &&
    explanation.length <= 2048 &&
    /^https?:\/\/[\x21-\x7e]+$/.test(explanation)
      ? explanation
      : undefined;
  return { start: from, end: to, ...(explanationUrl === undefined ? {} : { explanationUrl }) };
}
