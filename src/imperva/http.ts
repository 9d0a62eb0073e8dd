import type { AgentOptions } from 'node:http';
import type { LookupFunction } from 'node:net';
import type { Got } from 'got';
import type { ApiCredentials } from '../config/load.js';
import { ApiError } from '../model/errors.js';
import { onAbort } from '../util/abort.js';
import { VERSION } from '../util/version.js';
import type { HttpAnswer } from './answer.js';
import { NetworkError, interrupted, withoutStack } from './errors.js';
import { proxyFor } from './proxy.js';

/** An answer longer than this (after decompression) is abandoned: an unexpected answer, retried. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * One request to Imperva: v1 calls are POSTs of a form (docs/imperva-api.md, "Authentication"), v3 calls are GETs
 * with a query. `path` is under the API's prefix (v1: `/api/prov/v1/`; v3: the host's root, since the certificates
 * and the API keys live under different prefixes there); `siteId` is '' for account-wide calls.
 */
export type Request =
  | { api: 'v1'; siteId: string; path: string; form: string }
  | { api: 'v3'; siteId: string; path: string; query: URLSearchParams };

/** Sends one request and reads its whole answer; rejects with an ApiError when there is none. */
export type Send = (request: Request, timeoutMs: number) => Promise<HttpAnswer>;

export interface HttpOptions {
  /** The most requests in flight at once: as many kept-alive connections. */
  concurrency: number;
  /** The v3 API's base URL; without it, no v3 request is sent. */
  v3BaseUrl?: string | undefined;
  /** Requests in flight are abandoned when it fires. */
  signal?: AbortSignal | undefined;
  /** How host names are resolved (node's `dns.lookup` by default). */
  lookup?: LookupFunction | undefined;
}

/** One of Imperva's APIs: its got instance, and how to name where it goes. */
interface Endpoint {
  got: Got;
  host: string;
  /** The proxy it goes through, without credentials. */
  proxy: string | undefined;
}

/**
 * The HTTP side of the client. got is loaded here, on first need, so that a hook run with nothing to upload never
 * loads it. Credentials travel only in the x-API-Id / x-API-Key headers: the legacy api_id/api_key form fields put
 * the key in bodies that proxies and logs keep. A got error is never passed on as it is: its options carry our
 * headers (see toApiError). Retries are not got's (see call.ts): Imperva's transient failures include HTTP 200
 * answers got cannot judge.
 */
export async function createSend(
  api: Pick<ApiCredentials, 'id' | 'key' | 'baseUrl'>,
  options: HttpOptions,
): Promise<Send> {
  const [{ default: got }, { Agent: HttpAgent }, { Agent: HttpsAgent }] = await Promise.all([
    import('got'),
    import('node:http'),
    import('node:https'),
  ]);
  // One pool of kept-alive connections, as wide as the concurrency: no TLS handshake per upload.
  const agentOptions = { keepAlive: true, maxSockets: options.concurrency, scheduling: 'lifo' as const };
  const imperva = got.extend({
    headers: { 'x-API-Id': api.id, 'x-API-Key': api.key, 'user-agent': `incap-cert/${VERSION}` },
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    agent: { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) },
    ...(options.lookup === undefined ? {} : { dnsLookup: options.lookup }),
  });
  const v1 = await endpoint(imperva, `${api.baseUrl}/api/prov/v1/`, agentOptions, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  const v3 =
    options.v3BaseUrl === undefined
      ? undefined
      : await endpoint(imperva, `${options.v3BaseUrl}/`, agentOptions, { method: 'GET' });
  const { signal } = options;

  return (request, timeoutMs) =>
    new Promise<HttpAnswer>((resolve, reject) => {
      const to = request.api === 'v1' ? v1 : v3;
      if (to === undefined) throw new Error('the v3 API is not configured');
      const stream = to.got.stream(request.path, {
        timeout: { request: timeoutMs },
        // A POST's stream ends with its body (even an empty one); a GET's on its own.
        ...(request.api === 'v1' ? { body: request.form } : { searchParams: request.query }),
      });
      const chunks: Buffer[] = [];
      let size = 0;
      let status = 0;
      let contentType: string | undefined;
      let retryAfter: string | undefined;
      let over = false;
      let stopWatching = nothing;
      function finish(error: ApiError | undefined, answer?: HttpAnswer): void {
        if (over) return;
        over = true;
        stopWatching();
        if (error !== undefined) {
          stream.destroy();
          reject(error);
        } else resolve(answer as HttpAnswer);
      }
      const tooBig = () =>
        finish(
          withoutStack(
            () =>
              new ApiError(
                `Imperva answered with more than ${MAX_ANSWER_BYTES / 1048576} MiB (HTTP ${status})`,
                {
                  status,
                  transient: true,
                },
              ),
          ),
        );
      if (signal !== undefined) stopWatching = onAbort(signal, () => finish(interrupted(0)));
      stream.once('response', (response: { statusCode: number; headers: Record<string, unknown> }) => {
        status = response.statusCode;
        contentType = firstHeader(response.headers['content-type']);
        retryAfter = firstHeader(response.headers['retry-after']);
        // Through a proxy, a plain-HTTP request gets the proxy's own 407.
        if (status === 407) finish(proxyRefused(to.host, to.proxy));
        // A declared length over the bound is not worth reading (a compressed one is counted as it inflates).
        if (Number(firstHeader(response.headers['content-length']) ?? 0) > MAX_ANSWER_BYTES) tooBig();
      });
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_ANSWER_BYTES) tooBig();
        else chunks.push(chunk);
      });
      stream.once('end', () =>
        finish(undefined, {
          status,
          contentType,
          retryAfter,
          body: Buffer.concat(chunks, size).toString('utf8'),
        }),
      );
      stream.once('error', (error: unknown) => finish(toApiError(error, timeoutMs, to.host, to.proxy)));
      if (signal?.aborted === true) finish(interrupted(0));
    });
}

/**
 * One API's got instance, under its prefix. A proxy, when the environment names one for the API's host: per API,
 * since NO_PROXY may name one host and not the other.
 */
async function endpoint(
  imperva: Got,
  prefixUrl: string,
  agentOptions: AgentOptions,
  options: { method: 'GET' | 'POST'; headers?: Record<string, string> },
): Promise<Endpoint> {
  const proxy = await proxyFor(prefixUrl, agentOptions);
  return {
    got: imperva.extend({ prefixUrl, ...options, ...(proxy === undefined ? {} : { agent: proxy.agents }) }),
    host: hostOf(prefixUrl),
    proxy: proxy?.shown,
  };
}

/**
 * Turns whatever got threw into an ApiError that carries only what a reader needs. A name that does not resolve
 * is named in the message (`cannot reach my.imperva.com (ENOTFOUND)`).
 */
export function toApiError(error: unknown, timeoutMs: number, host?: string, proxy?: string): ApiError {
  if (error instanceof ApiError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  // hpagent's words when the proxy answers CONNECT (every HTTPS request) with anything but 200.
  if (error instanceof Error && error.message === 'Bad response: 407') return proxyRefused(host, proxy);
  const name = typeof code === 'string' ? code : 'unknown error';
  return withoutStack(() => {
    if (name === 'ETIMEDOUT') {
      return new NetworkError(
        `no answer from Imperva within ${Math.round(timeoutMs) / 1000} s`,
        { transient: true },
        name,
      );
    }
    // A TLS verification failure will not mend itself on the next attempt; a reset or refusal may.
    const tls = /^(ERR_TLS|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_SSL)/.test(name);
    // The host, so that an operator sees which name or proxy is at fault (check, a proxy, a stage base URL).
    const where = host ?? 'Imperva';
    const through = proxy === undefined ? '' : ` through the proxy ${proxy}`;
    return new NetworkError(`cannot reach ${where}${through} (${name})`, { transient: !tls }, name);
  });
}

/**
 * A proxy's 407: its credentials (in the *_PROXY variable) are missing or wrong. No retry mends that. The proxy is
 * named without its user and password.
 */
function proxyRefused(host: string | undefined, proxy: string | undefined): ApiError {
  const which = proxy === undefined ? 'a proxy' : `the proxy ${proxy}`;
  return withoutStack(
    () =>
      new ApiError(
        `${which} refused authentication (HTTP 407) on the way to ${host ?? 'Imperva'}: ` +
          'check the user and password in HTTPS_PROXY (or HTTP_PROXY, ALL_PROXY)',
        { status: 407, transient: false },
      ),
  );
}

function firstHeader(value: unknown): string | undefined {
  if (Array.isArray(value)) return typeof value[0] === 'string' ? value[0] : undefined;
  return typeof value === 'string' ? value : undefined;
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return 'Imperva';
  }
}

function nothing(): void {}
