import type { Response } from 'got';
import type { CertificateBundle, KeyType } from '../certificate/read.js';
import type { ApiCredentials } from '../config/load.js';
import { ApiError } from '../errors.js';
import { VERSION } from '../version.js';
import { isObject, parseAnswer, readVerdict, type CertificateVerdict } from './response.js';
import { AdaptiveLimiter } from './limiter.js';
import { periodicCollector } from './memory.js';
import { isThrottled, retryDelayMs, type RetrySettings } from './retry.js';

export interface UploadResult {
  resMessage: string;
  verdict: CertificateVerdict | undefined;
}

export interface SiteStatus {
  siteId: string;
  domain: string | undefined;
  /** What the site serves as its custom certificate; undefined when it has none. */
  custom: CertificateVerdict | undefined;
}

export interface ImpervaClient {
  upload(siteId: string, bundle: CertificateBundle): Promise<UploadResult>;
  status(siteId: string): Promise<SiteStatus>;
}

export interface RetryNotice {
  siteId: string;
  reason: string;
  delayMs: number;
  /** Throttling (HTTP 429) uses up no attempt. */
  throttled: boolean;
  /** The attempt about to be made, and how many there may be. */
  attempt: number;
  attempts: number;
}

export interface ClientOptions extends RetrySettings {
  /** Per-request timeout. */
  timeoutMs: number;
  /** The most requests in flight at once; lowered while Imperva throttles (see AdaptiveLimiter). */
  concurrency: number;
  /** When the whole run must be over (ms since the epoch): no request starts, and no wait ends, after it. */
  deadlineAt: number;
  onRetry?: (notice: RetryNotice) => void;
  /** For tests: the clock and the dice. */
  now?: () => number;
  random?: () => number;
}

/** How many requests between two garbage collections (see memory.ts). */
const GC_EVERY_REQUESTS = 50;

/** Encoded once per certificate, however many sites it goes to. */
const encoded = new WeakMap<CertificateBundle, { certificate: string; privateKey: string }>();

/** The form fields of one upload (docs/imperva-api.md, "Uploading a certificate (v1)"). */
export function uploadForm(siteId: string, bundle: CertificateBundle): Record<string, string> {
  let base64 = encoded.get(bundle);
  if (base64 === undefined) {
    base64 = { certificate: bundle.certPem.toString('base64'), privateKey: bundle.keyPem.toString('base64') };
    encoded.set(bundle, base64);
  }
  return {
    site_id: siteId,
    certificate: base64.certificate,
    private_key: base64.privateKey,
    auth_type: bundle.keyType satisfies KeyType,
    input_hash: bundle.fingerprint,
  };
}

/**
 * The one HTTP client for Imperva. got is loaded here, on first need, so that a hook run with nothing to upload
 * never pays for it. Credentials travel only in the x-API-Id / x-API-Key headers: the legacy api_id/api_key form
 * fields put the key in bodies that proxies and logs keep. A got error is never passed on as it is: its options
 * carry our headers.
 */
export async function createImpervaClient(
  api: ApiCredentials,
  options: ClientOptions,
): Promise<ImpervaClient> {
  const { default: got } = await import('got');
  const http = got.extend({
    prefixUrl: `${api.baseUrl}/api/prov/v1/`,
    headers: { 'x-API-Id': api.id, 'x-API-Key': api.key, 'user-agent': `incap-cert/${VERSION}` },
    // Retries are ours (see call): Imperva's transient failures include HTTP 200 answers got cannot judge.
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
  });

  const now = options.now ?? Date.now;
  const limiter = new AdaptiveLimiter(options.concurrency, now);
  const collect = periodicCollector(GC_EVERY_REQUESTS);

  /** One call, with retries of transient failures within the run's deadline. */
  async function call(path: string, form: Record<string, string>): Promise<ReturnType<typeof parseAnswer>> {
    const siteId = form.site_id ?? '';
    // `attempt` counts failures that use up attempts; throttled answers (429) do not, but are counted as tries.
    let attempt = 1;
    for (let tries = 1; ; tries += 1) {
      const left = options.deadlineAt - now();
      if (left <= 0) {
        const error = new ApiError("not tried: the run's deadline passed", { transient: true });
        error.attempts = tries - 1;
        throw error;
      }
      try {
        return await once(path, form, Math.min(options.timeoutMs, left));
      } catch (thrown) {
        const error = thrown as ApiError;
        error.attempts = tries;
        const delay = retryDelayMs(error, attempt, options, options.random);
        if (delay === undefined) throw error;
        if (now() + delay >= options.deadlineAt) {
          const late = new ApiError(`${error.message}; no retry: the run's deadline would pass first`, error);
          late.attempts = tries;
          throw late;
        }
        const throttled = isThrottled(error);
        if (!throttled) attempt += 1;
        options.onRetry?.({
          siteId,
          reason: error.message,
          delayMs: delay,
          throttled,
          attempt,
          attempts: options.attempts,
        });
        await sleep(delay);
      }
    }
  }

  /** One request, holding one of the limiter's slots. */
  async function once(
    path: string,
    form: Record<string, string>,
    timeoutMs: number,
  ): Promise<ReturnType<typeof parseAnswer>> {
    const startedAt = await limiter.acquire();
    let throttledForMs: number | undefined;
    try {
      let response: Response<string>;
      try {
        response = await http.post(path, { form, timeout: { request: timeoutMs } });
      } catch (error) {
        throw toApiError(error, timeoutMs);
      }
      return parseAnswer({
        status: response.statusCode,
        contentType: response.headers['content-type'],
        retryAfter: response.headers['retry-after'],
        body: response.body,
      });
    } catch (error) {
      if (error instanceof ApiError && error.status === 429)
        throttledForMs = (error.retryAfterSeconds ?? 1) * 1000;
      throw error;
    } finally {
      limiter.done(startedAt, throttledForMs);
      collect();
    }
  }

  return {
    async upload(siteId, bundle) {
      const envelope = await call('sites/customCertificate/upload', uploadForm(siteId, bundle));
      const debugInfo = envelope.body.debug_info;
      return {
        resMessage: envelope.resMessage,
        verdict: readVerdict(isObject(debugInfo) ? debugInfo.details : undefined),
      };
    },
    async status(siteId) {
      const envelope = await call('sites/status', { site_id: siteId });
      const ssl = envelope.body.ssl;
      return {
        siteId,
        domain: typeof envelope.body.domain === 'string' ? envelope.body.domain : undefined,
        custom: readVerdict(isObject(ssl) ? ssl.custom_certificate : undefined),
      };
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Turns whatever got threw into an ApiError that carries only what a reader needs. */
export function toApiError(error: unknown, timeoutMs: number): ApiError {
  if (error instanceof ApiError) return error;
  const code = (error as { code?: unknown }).code;
  const name = typeof code === 'string' ? code : 'unknown error';
  if (name === 'ETIMEDOUT') {
    return new ApiError(`no answer from Imperva within ${Math.round(timeoutMs) / 1000} s`, {
      transient: true,
    });
  }
  // A TLS verification failure will not mend itself on the next attempt; a reset or refusal may.
  const tls = /^(ERR_TLS|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_SSL)/.test(name);
  return new ApiError(`cannot reach Imperva (${name})`, { transient: !tls });
}
