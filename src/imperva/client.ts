import type { CertificateBundle, KeyType } from '../certificate/read.js';
import type { ApiCredentials } from '../config/load.js';
import { ApiError } from '../errors.js';
import { VERSION } from '../version.js';
import { isObject, parseAnswer, readVerdict, type CertificateVerdict } from './response.js';

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

export interface ClientOptions {
  /** Per-request timeout. */
  timeoutMs: number;
}

/** The form fields of one upload (../shared/reference/imperva-api.md, "Upload or replace: v1"). */
export function uploadForm(siteId: string, bundle: CertificateBundle): Record<string, string> {
  return {
    site_id: siteId,
    certificate: bundle.certPem.toString('base64'),
    private_key: bundle.keyPem.toString('base64'),
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
    timeout: { request: options.timeoutMs },
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
  });

  async function call(path: string, form: Record<string, string>): Promise<ReturnType<typeof parseAnswer>> {
    let response;
    try {
      response = await http.post(path, { form });
    } catch (error) {
      throw toApiError(error, options.timeoutMs);
    }
    const retryAfter = response.headers['retry-after'];
    return parseAnswer({
      status: response.statusCode,
      contentType: response.headers['content-type'],
      retryAfter: Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
      body: response.body,
    });
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

/** Turns whatever got threw into an ApiError that carries only what a reader needs. */
export function toApiError(error: unknown, timeoutMs: number): ApiError {
  if (error instanceof ApiError) return error;
  const code = (error as { code?: unknown }).code;
  const name = typeof code === 'string' ? code : 'unknown error';
  if (name === 'ETIMEDOUT') {
    return new ApiError(`no answer from Imperva within ${timeoutMs / 1000} s`, { transient: true });
  }
  // A TLS verification failure will not mend itself on the next attempt; a reset or refusal may.
  const tls = /^(ERR_TLS|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_SSL)/.test(name);
  return new ApiError(`cannot reach Imperva (${name})`, { transient: !tls });
}
