/**
 * The one error hierarchy of incap-cert. Every expected failure is an IncapCertError with a stable `code` and the
 * process exit code it maps to; src/main.ts tells them, one line each, and src/model/exit-code.ts decides the exit code. Messages are one
 * plain sentence naming the file, field, folder or site — never a stack trace, never a secret.
 */

/** Exit codes, documented in the README. */
export const ExitCode = {
  /** Every mapped site has the certificate, or nothing is mapped. */
  Ok: 0,
  /** At least one site failed. */
  SiteFailed: 1,
  /** Usage or configuration error, or a state folder that cannot be trusted. */
  Usage: 2,
  /** Certificate or key problem. */
  Certificate: 3,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class IncapCertError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** What a person reads: one line each. */
  lines(): readonly string[] {
    return [this.message];
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

  override lines(): readonly string[] {
    return this.issues;
  }
}

/** A certificate or key file is missing, unreadable, not PEM, mismatched, unsupported or expired. */
export class CertificateError extends IncapCertError {
  constructor(message: string) {
    super(message, 'CERTIFICATE', ExitCode.Certificate);
  }
}

/**
 * The retry queue in the state folder cannot be read or written. `untrusted` when the folder could have been written
 * by someone other than root: then it is never read or written, and commands that live on the queue (sync, status)
 * stop with exit 2.
 */
export class StateError extends IncapCertError {
  constructor(
    message: string,
    readonly untrusted = false,
  ) {
    super(message, untrusted ? 'STATE_UNTRUSTED' : 'STATE', untrusted ? ExitCode.Usage : ExitCode.SiteFailed);
  }
}

/** Another run held the queue's lock for longer than we wait. */
export class LockTimeoutError extends StateError {}

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
  /** How many requests the call sent before it gave up: 0 when nothing was sent; 1 when not said. */
  attempts?: number | undefined;
}

/** One call to Imperva's API failed. Never carries the request (its headers hold the API key). */
export class ApiError extends IncapCertError {
  readonly res: number | undefined;
  readonly resMessage: string | undefined;
  readonly status: number | undefined;
  readonly transient: boolean;
  readonly retryAfterSeconds: number | undefined;
  readonly attempts: number;
  constructor(message: string, details: ApiErrorDetails) {
    super(message, 'API', ExitCode.SiteFailed);
    this.res = details.res;
    this.resMessage = details.resMessage;
    this.status = details.status;
    this.transient = details.transient;
    this.retryAfterSeconds = details.retryAfterSeconds;
    this.attempts = details.attempts ?? 1;
  }
}
