import { ApiError, type ApiErrorDetails } from '../model/errors.js';

/**
 * What kind of API failure this is, for callers that act on it (src/errors.ts keeps `code` 'API' for the rest):
 * - CREDENTIALS: Imperva refused the API id or key (res 9403, 9411, 9418, or v3 HTTP 401). Every later call of the
 *   run fails at once with this code, without sending anything: the run stops trying further sites.
 * - V3_UNAVAILABLE: the v3 certificates API is forbidden (403), absent (404), not configured, or kept failing;
 *   fall back to v1 `sites/status`.
 * - INTERRUPTED: the run is being killed (ClientOptions.signal); transient.
 * - DEADLINE: the run's deadline passed before the call could be made or retried; transient. `attempts` is 0 when
 *   nothing was sent.
 * - FLAGGED: Imperva stored the upload (res 0) but flags it (see FlaggedUpload): a failure of that site.
 */
export type ClientErrorCode = 'CREDENTIALS' | 'V3_UNAVAILABLE' | 'INTERRUPTED' | 'DEADLINE' | 'FLAGGED';

export interface ClientErrorDetails extends ApiErrorDetails {
  /**
   * DEADLINE only: Imperva never answered this site with anything but 429 (or did not answer before the deadline cut
   * the try short). The site was not reached, as if nothing had been sent: a run that defers at its deadline
   * defers it, rather than failing it.
   */
  unanswered?: boolean | undefined;
}

export class ClientError extends ApiError {
  /** See ClientErrorDetails.unanswered. */
  readonly unanswered: boolean;

  constructor(
    message: string,
    details: ClientErrorDetails,
    override readonly code: ClientErrorCode,
  ) {
    super(message, details);
    this.unanswered = details.unanswered ?? false;
  }
}

/** The error's code when it is one of the client's own kinds. */
export function clientErrorCode(error: unknown): ClientErrorCode | undefined {
  return error instanceof ClientError ? error.code : undefined;
}

export const isCredentialsError = (error: unknown): boolean => clientErrorCode(error) === 'CREDENTIALS';
/** The one line for refused credentials: Imperva's answer and where the key came from (never the key). */
export function credentialsMessage(error: ApiError, keySource: string): string {
  return `Imperva refused the API credentials: ${error.message}; the key comes from ${keySource}`;
}

export const isV3Unavailable = (error: unknown): boolean => clientErrorCode(error) === 'V3_UNAVAILABLE';

/** The details of an ApiError, to make another one from it. */
export function detailsOf(error: ApiError): ApiErrorDetails {
  return {
    res: error.res,
    resMessage: error.resMessage,
    status: error.status,
    transient: error.transient,
    retryAfterSeconds: error.retryAfterSeconds,
    attempts: error.attempts,
  };
}

/**
 * Expected failures are never shown with a stack (src/cli.ts prints one line), and a run with thousands of failing
 * sites keeps one error each until the end: capturing a stack for each costs memory for nothing.
 */
export function withoutStack<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The request got no HTTP answer: `network` is the system's code (ECONNRESET, ENOTFOUND, ETIMEDOUT...). */
export class NetworkError extends ApiError {
  constructor(
    message: string,
    details: ApiErrorDetails,
    readonly network: string,
  ) {
    super(message, details);
  }
}

/** The run is being killed (ClientOptions.signal): transient, after `attempts` requests sent. */
export function interrupted(attempts: number): ClientError {
  return withoutStack(() => new ClientError('interrupted', { transient: true, attempts }, 'INTERRUPTED'));
}

/** The failure of a call's last try, as the call's own error: the same kind, counting every try the call made. */
export function counted(error: ApiError, attempts: number): ApiError {
  const details = { ...detailsOf(error), attempts };
  return withoutStack(() => {
    if (error instanceof ClientError)
      return new ClientError(error.message, { ...details, unanswered: error.unanswered }, error.code);
    if (error instanceof NetworkError) return new NetworkError(error.message, details, error.network);
    return new ApiError(error.message, details);
  });
}

/** A name that does not resolve now will not resolve in a few seconds either: at most one retry. */
export const UNRESOLVED = new Set(['ENOTFOUND', 'EAI_AGAIN']);

/**
 * An upload Imperva answered with res 0 and `coverageError`/`hostnameMismatchError` or `chainError`: the certificate
 * is stored, but browsers asking for the uncovered names, or clients that need the missing intermediate, fail. Not
 * transient: the same certificate gets the same verdict (docs/imperva-api.md, "Responses").
 */
export class FlaggedUpload extends ClientError {
  constructor(
    /** The names mapped to the site that the certificate does not cover (empty: Imperva's own names for the site). */
    readonly uncovered: readonly string[] | undefined,
    /** Imperva flags the chain as incomplete or out of order. */
    readonly chainError: boolean,
  ) {
    const problems: string[] = [];
    if (uncovered !== undefined) {
      problems.push(
        uncovered.length === 0
          ? "the certificate does not cover the site's names at Imperva (coverageError): issue one that covers them"
          : `the certificate does not cover ${uncovered.join(', ')} (coverageError): issue one that covers them`,
      );
    }
    if (chainError)
      problems.push('the chain is incomplete or out of order (chainError): upload the full chain');
    super(
      `Imperva stored the certificate but flags it: ${problems.join('; ')}`,
      { transient: false },
      'FLAGGED',
    );
  }
}

/** Imperva's `res` 9413: the site id is unknown to the account, or the key has no access to it. */
export function isUnknownSite(error: unknown): boolean {
  return error instanceof ApiError && error.res === 9413;
}
