/**
 * The one error hierarchy of incap-cert. Every expected failure is an IncapCertError with a stable `code` and the
 * process exit code it maps to; src/cli.ts turns them into a one-line message and that exit code. Messages are one
 * plain sentence naming the file, field or site — never a stack trace, never a secret.
 */

/** Exit codes, documented in the README. */
export const ExitCode = {
  /** Every mapped site has the certificate, or nothing is mapped. */
  Ok: 0,
  /** At least one site failed. */
  SiteFailed: 1,
  /** Usage or configuration error. */
  Usage: 2,
  /** Certificate or key problem. */
  Certificate: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class IncapCertError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad command line: unknown flag, missing input, no RENEWED_LINEAGE in deploy mode. */
export class UsageError extends IncapCertError {
  constructor(message: string) {
    super(message, 'USAGE', ExitCode.Usage);
  }
}

/** The configuration is unusable. Carries every problem found, each already naming the file and the field. */
export class ConfigError extends IncapCertError {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(issues.join('; '), 'CONFIG', ExitCode.Usage);
    this.issues = issues;
  }
}

/** A certificate or key file is missing, unreadable, not PEM, mismatched, unsupported or expired. */
export class CertificateError extends IncapCertError {
  constructor(message: string) {
    super(message, 'CERTIFICATE', ExitCode.Certificate);
  }
}

export interface ApiErrorDetails {
  /** Imperva's `res` code, when the answer was a JSON envelope. */
  res?: number | undefined;
  resMessage?: string | undefined;
  /** HTTP status, when there was an HTTP answer. */
  status?: number | undefined;
  /** Whether trying again later may succeed (throttling, 5xx, HTML pages, res 3015/4, resets, timeouts). */
  transient: boolean;
  /** Seconds the server asked us to wait (Retry-After), when it said. */
  retryAfterSeconds?: number | undefined;
}

/** One call to Imperva's API failed. Never carries the request (its headers hold the API key). */
export class ApiError extends IncapCertError {
  readonly res: number | undefined;
  readonly resMessage: string | undefined;
  readonly status: number | undefined;
  readonly transient: boolean;
  readonly retryAfterSeconds: number | undefined;
  /** How many attempts were made before giving up (set by the client). */
  attempts = 1;
  constructor(message: string, details: ApiErrorDetails) {
    super(message, 'API', ExitCode.SiteFailed);
    this.res = details.res;
    this.resMessage = details.resMessage;
    this.status = details.status;
    this.transient = details.transient;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}
