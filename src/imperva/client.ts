import type { LookupFunction } from 'node:net';
import type { StreamOptions } from 'got';
import { onAbort } from '../util/abort.js';
import { isObject } from '../util/strict-json.js';
import { proxyFor, type Proxy } from './proxy.js';
import type { CertificateBundle, KeyType } from '../certificate/read.js';
import type { ApiCredentials } from '../config/load.js';
import { ApiError } from '../errors.js';
import { VERSION } from '../version.js';
import { ClientError, NetworkError, counted, detailsOf, interrupted, withoutStack } from './errors.js';
import { Pacer } from './limiter.js';
import {
  CREDENTIAL_RES,
  parseAnswer,
  parseCertificates,
  readDns,
  readVerdict,
  type CertificateEntry,
  type CertificateVerdict,
  type DnsRecord,
  type Envelope,
  type HttpAnswer,
} from './response.js';
import { isThrottled, retryDelayMs, type RetrySettings } from './retry.js';

export type { CertificateEntry, DnsRecord } from './response.js';

export interface UploadResult {
  resMessage: string;
  verdict: CertificateVerdict | undefined;
}

export interface SiteStatus {
  siteId: string;
  domain: string | undefined;
  /** What the site serves as its custom certificate; undefined when it has none. */
  custom: CertificateVerdict | undefined;
  /** The DNS records Imperva asks for the site: a CNAME's target is the site's edge. */
  dns: DnsRecord[];
}

export interface AccountInfo {
  accountId: string;
  accountName: string;
  planName: string;
}

export interface ImpervaClient {
  upload(siteId: string, bundle: CertificateBundle): Promise<UploadResult>;
  status(siteId: string): Promise<SiteStatus>;
  /**
   * The custom certificates (one per key type) from the v3 API: of one site, or of the whole account without
   * `siteId`. Throws a ClientError with code 'V3_UNAVAILABLE' when v3 is not configured, forbidden, absent or
   * keeps failing: fall back to `status` (v1).
   */
  certificates(siteId?: string): Promise<CertificateEntry[]>;
  /** Removes the site's custom certificate of one key type (v1 `sites/customCertificate/remove`). */
  remove(siteId: string, keyType: KeyType): Promise<{ resMessage: string }>;
  /** Proves the credentials with one call (v1 `account/verify`). */
  verifyAccount(): Promise<AccountInfo>;
}

export interface RetryNotice {
  siteId: string;
  reason: string;
  delayMs: number;
  /** Throttling (HTTP 429) uses up no attempt. */
  throttled: boolean;
  /** The attempt about to be made, and how many there may be. */
  attempts: number;
  attempt: number;
}

export interface ClientOptions extends RetrySettings {
  /** Per-request timeout. */
  timeoutMs: number;
  /** The most requests in flight at once. */
  concurrency: number;
  /** When the whole run must be over (ms since the epoch): no request starts, and no wait ends, after it. */
  deadlineAt: number;
  /** The v3 API's base URL (`https://api.imperva.com`), without a trailing slash; without it v3 is unavailable. */
  v3BaseUrl?: string | undefined;
  /** Pace requests from the start, and never faster than this (config ratePerMinute). */
  ratePerMinute?: number | undefined;
  /**
   * The run is being killed: requests in flight are abandoned and waiting ones end at once, with a transient
   * ClientError 'INTERRUPTED'.
   */
  signal?: AbortSignal | undefined;
  onRetry?: (notice: RetryNotice) => void;
  /** How host names are resolved (node's `dns.lookup` by default): tests never ask a real DNS server. */
  lookup?: LookupFunction | undefined;
  /** For tests: the clock and the dice. */
  now?: () => number;
  random?: () => number;
}

/** An answer longer than this (after decompression) is abandoned: an unexpected answer, retried. */
export const MAX_ANSWER_BYTES = 1024 * 1024;

const FORM_HEADERS = { 'content-type': 'application/x-www-form-urlencoded' };

/**
 * However the answers go, one site gets at most one request a second on average: a burst of PER_SITE_BURST (a
 * status check, an upload and one quick retry), then one a second.
 */
const PER_SITE_BURST = 3;
const PER_SITE_INTERVAL_MS = 1000;

/** The encoded form of one certificate, everything but `site_id`: encoded once, however many sites it goes to. */
const encoded = new WeakMap<CertificateBundle, string>();

/** The form fields of one upload (docs/imperva-api.md, "Upload or replace: v1"). */
export function uploadForm(siteId: string, bundle: CertificateBundle): Record<string, string> {
  return {
    site_id: siteId,
    certificate: bundle.certPem.toString('base64'),
    private_key: bundle.keyPem.toString('base64'),
    auth_type: bundle.keyType satisfies KeyType,
    input_hash: bundle.fingerprint,
  };
}

/** `uploadForm` as an x-www-form-urlencoded body, the certificate's part encoded once. */
export function uploadBody(siteId: string, bundle: CertificateBundle): string {
  let rest = encoded.get(bundle);
  if (rest === undefined) {
    const { site_id: _site, ...fields } = uploadForm(siteId, bundle);
    rest = new URLSearchParams(fields).toString();
    encoded.set(bundle, rest);
  }
  return `site_id=${encodeURIComponent(siteId)}&${rest}`;
}

interface Request {
  /** For the per-site budget and the retry notices ('' for account-wide calls). */
  siteId: string;
  url: string;
  host: string;
  method: 'GET' | 'POST';
  /** x-www-form-urlencoded, for POST. */
  body?: string;
}

/**
 * The one HTTP client for Imperva. got is loaded here, on first need, so that a hook run with nothing to upload
 * never pays for it. Credentials travel only in the x-API-Id / x-API-Key headers: the legacy api_id/api_key form
 * fields put the key in bodies that proxies and logs keep. A got error is never passed on as it is: its options
 * carry our headers. Retries, pacing and the bounds on every wait are ours (see `call`).
 */
export async function createImpervaClient(
  api: Pick<ApiCredentials, 'id' | 'key' | 'baseUrl'>,
  options: ClientOptions,
): Promise<ImpervaClient> {
  const [{ default: got }, { Agent: HttpAgent }, { Agent: HttpsAgent }] = await Promise.all([
    import('got'),
    import('node:http'),
    import('node:https'),
  ]);
  // One pool of kept-alive connections, as wide as the concurrency: no TLS handshake per upload.
  const agentOptions = { keepAlive: true, maxSockets: options.concurrency, scheduling: 'lifo' as const };
  const http = got.extend({
    headers: { 'x-API-Id': api.id, 'x-API-Key': api.key, 'user-agent': `incap-cert/${VERSION}` },
    // Retries are ours (see call): Imperva's transient failures include HTTP 200 answers got cannot judge.
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    agent: { http: new HttpAgent(agentOptions), https: new HttpsAgent(agentOptions) },
    ...(options.lookup === undefined ? {} : { dnsLookup: options.lookup }),
  });

  // A proxy, when the environment names one for a host: per host, since NO_PROXY may name one and not the other.
  const proxies = new Map<string, Proxy | undefined>();
  for (const base of [api.baseUrl, options.v3BaseUrl]) {
    if (base !== undefined) proxies.set(hostOf(base), await proxyFor(base, agentOptions));
  }

  const now = options.now ?? Date.now;
  const { signal } = options;
  const pacer = new Pacer({ concurrency: options.concurrency, ratePerMinute: options.ratePerMinute, now });
  const budget = new SiteBudget(PER_SITE_BURST, PER_SITE_INTERVAL_MS);
  const v1 = `${api.baseUrl}/api/prov/v1/`;
  const v1Host = hostOf(api.baseUrl);
  /** The first answer that refused the credentials: every later call fails at once with it. */
  let refused: ApiError | undefined;

  /** Sends one request and reads its answer, at most MAX_ANSWER_BYTES of it, as it arrives. */
  function send(request: Request, timeoutMs: number): Promise<HttpAnswer> {
    return new Promise<HttpAnswer>((resolve, reject) => {
      const proxy = proxies.get(request.host);
      // Built up, not spread together: see wantOf (engine/plan.ts) on what spreads cost per object.
      const init: StreamOptions = { method: request.method, timeout: { request: timeoutMs } };
      if (proxy !== undefined) init.agent = proxy.agents;
      // A POST's stream ends with its body (even an empty one); a GET's on its own.
      if (request.method === 'POST') {
        init.body = request.body ?? '';
        init.headers = FORM_HEADERS;
      }
      const stream = http.stream(request.url, init);
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
      stream.once('error', (error: unknown) =>
        finish(toApiError(error, timeoutMs, request.host, proxy?.shown)),
      );
      if (signal?.aborted === true) finish(interrupted(0));
    });
  }

  /** One call, with retries of transient failures within the run's deadline, paced (see Pacer, SiteBudget). */
  async function call<T>(request: Request, parse: (answer: HttpAnswer) => T): Promise<T> {
    // `attempt` counts failures that use up attempts; throttled answers (429) do not, but are counted as tries.
    let attempt = 1;
    let sent = 0;
    let last: ApiError | undefined;
    /** Some try got an answer that was not 429 (or a failure that was not the deadline cutting it short). */
    let answered = false;
    const outOfTime = (): ClientError => deadlinePassed(last, sent, !answered);
    for (;;) {
      if (refused !== undefined) throw notTried(refused, sent);
      if (signal?.aborted === true) throw interrupted(sent);
      if ((await wait(budget.take(request.siteId, now()), sent)) === undefined) throw outOfTime();
      const startedAt = await pacer.acquire(options.deadlineAt, signal).catch(() => {
        throw interrupted(sent);
      });
      if (startedAt === undefined) throw outOfTime();
      if (refused !== undefined) {
        pacer.done({ startedAt, throttled: false });
        throw notTried(refused, sent);
      }
      sent += 1;
      let error: ApiError;
      // A try may not outlast the run: its timeout is cut to what is left before the deadline.
      const timeoutMs = Math.min(options.timeoutMs, options.deadlineAt - now());
      try {
        const answer = await send(request, timeoutMs);
        try {
          const result = parse(answer);
          pacer.done({ startedAt, throttled: false });
          return result;
        } catch (thrown) {
          error = asApiError(thrown);
        }
      } catch (thrown) {
        error = asApiError(thrown);
      }
      last = error;
      const throttled = isThrottled(error);
      const cutShort =
        timeoutMs < options.timeoutMs && error instanceof NetworkError && error.network === 'ETIMEDOUT';
      if (!throttled && !cutShort) answered = true;
      pacer.done({
        startedAt,
        throttled,
        retryAfterMs: error.retryAfterSeconds === undefined ? undefined : error.retryAfterSeconds * 1000,
      });
      if (isRefusal(error)) {
        refused ??= error;
        throw new ClientError(error.message, { ...detailsOf(error), attempts: sent }, 'CREDENTIALS');
      }
      if (error instanceof ClientError) throw counted(error, sent);
      const delay = retryDelayMs(error, attempt, options, options.random);
      if (delay === undefined) throw counted(error, sent);
      if (now() + delay >= options.deadlineAt) {
        throw new ClientError(
          `${error.message}; no retry: the run's deadline would pass first`,
          { ...detailsOf(error), attempts: sent, unanswered: !answered },
          'DEADLINE',
        );
      }
      if (!throttled) attempt += 1;
      options.onRetry?.({
        siteId: request.siteId,
        reason: error.message,
        delayMs: delay,
        throttled,
        attempt,
        attempts: options.attempts,
      });
      await wait(now() + delay, sent);
    }
  }

  /** Waits until `at` (ms since the epoch); undefined when that is past the deadline; throws when interrupted. */
  async function wait(at: number, sent: number): Promise<true | undefined> {
    if (at >= options.deadlineAt) return undefined;
    const ms = at - now();
    if (ms <= 0) return true;
    await new Promise<void>((resolve, reject) => {
      let stopWatching = nothing;
      const timer = setTimeout(() => {
        stopWatching();
        resolve();
      }, ms);
      if (signal !== undefined)
        stopWatching = onAbort(signal, () => {
          clearTimeout(timer);
          reject(interrupted(sent));
        });
    });
    return true;
  }

  async function v1Call(siteId: string, path: string, form?: string): Promise<Envelope> {
    return call({ siteId, url: v1 + path, host: v1Host, method: 'POST', body: form ?? '' }, parseAnswer);
  }

  return {
    async upload(siteId, bundle) {
      const envelope = await v1Call(siteId, 'sites/customCertificate/upload', uploadBody(siteId, bundle));
      const debugInfo = envelope.body.debug_info;
      return {
        resMessage: envelope.resMessage,
        verdict: readVerdict(isObject(debugInfo) ? debugInfo.details : undefined),
      };
    },
    async status(siteId) {
      const envelope = await v1Call(siteId, 'sites/status', `site_id=${encodeURIComponent(siteId)}`);
      const ssl = envelope.body.ssl;
      return {
        siteId,
        domain: typeof envelope.body.domain === 'string' ? envelope.body.domain : undefined,
        custom: readVerdict(isObject(ssl) ? ssl.custom_certificate : undefined),
        dns: readDns(envelope.body.dns),
      };
    },
    async certificates(siteId) {
      const base = options.v3BaseUrl;
      if (base === undefined) {
        throw withoutStack(
          () => new ClientError('v3 API not configured', { transient: false, attempts: 0 }, 'V3_UNAVAILABLE'),
        );
      }
      const query = new URLSearchParams({ certType: 'CUSTOM_CERT' });
      if (siteId !== undefined) query.set('extSiteId', siteId);
      try {
        return await call(
          {
            siteId: siteId ?? '',
            url: `${base}/certificates-ui/v3/certificates?${query.toString()}`,
            host: hostOf(base),
            method: 'GET',
          },
          (answer) => parseCertificates(answer, siteId),
        );
      } catch (thrown) {
        const error = asApiError(thrown);
        if (error instanceof ClientError) throw error;
        // Whatever else kept failing, v1 may still answer.
        throw new ClientError(error.message, detailsOf(error), 'V3_UNAVAILABLE');
      }
    },
    async remove(siteId, keyType) {
      const form = new URLSearchParams({ site_id: siteId, auth_type: keyType }).toString();
      const envelope = await v1Call(siteId, 'sites/customCertificate/remove', form);
      return { resMessage: envelope.resMessage };
    },
    async verifyAccount() {
      const { body } = await v1Call('', 'account/verify');
      const text = (value: unknown) =>
        typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
      return {
        accountId: text(body.account_id),
        accountName: text(body.account_name),
        planName: text(body.plan_name),
      };
    },
  };
}

/** Imperva refused the credentials: 9403, 9411, 9418 on v1, 401 on v3. */
function isRefusal(error: ApiError): boolean {
  if (error instanceof ClientError) return error.code === 'CREDENTIALS';
  return error.res !== undefined && CREDENTIAL_RES.has(error.res);
}

function deadlinePassed(last: ApiError | undefined, sent: number, unanswered: boolean): ClientError {
  const message =
    last === undefined
      ? "not tried: the run's deadline passed"
      : `${last.message}; no retry: the run's deadline passed`;
  const details = last === undefined ? { transient: true } : detailsOf(last);
  return withoutStack(() => new ClientError(message, { ...details, attempts: sent, unanswered }, 'DEADLINE'));
}

function notTried(refused: ApiError, sent: number): ClientError {
  return withoutStack(
    () =>
      new ClientError(
        `not tried: Imperva refused the credentials earlier in this run (${refused.message})`,
        { ...detailsOf(refused), transient: false, attempts: sent },
        'CREDENTIALS',
      ),
  );
}

function asApiError(thrown: unknown): ApiError {
  return thrown instanceof ApiError ? thrown : toApiError(thrown, 0);
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

/**
 * Per site, a token bucket of `burst` requests refilled one per `intervalMs`: `take` reserves the next request and
 * says when it may start.
 */
class SiteBudget {
  private readonly sites = new Map<string, { tokens: number; at: number }>();
  constructor(
    private readonly burst: number,
    private readonly intervalMs: number,
  ) {}

  take(siteId: string, now: number): number {
    const site = this.sites.get(siteId);
    const tokens =
      site === undefined ? this.burst : Math.min(this.burst, site.tokens + (now - site.at) / this.intervalMs);
    if (site === undefined) this.sites.set(siteId, { tokens: tokens - 1, at: now });
    else {
      site.tokens = tokens - 1;
      site.at = now;
    }
    return tokens >= 1 ? now : now + (1 - tokens) * this.intervalMs;
  }
}

/**
 * Turns whatever got threw into an ApiError that carries only what a reader needs. A name that does not resolve
 * is named in the message (`cannot reach my.imperva.com (ENOTFOUND)`).
 */
export function toApiError(error: unknown, timeoutMs: number, host?: string, proxy?: string): ApiError {
  if (error instanceof ApiError) return error;
  const code = (error as { code?: unknown } | null)?.code;
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

function nothing(): void {}
