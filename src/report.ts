import { constants } from 'node:os';
import type { KeyType } from './certificate/key.js';
import type { ExpirySample, ExpirySource } from './metrics/textfile.js';
import { ExitCode, IncapCertError } from './errors.js';

/** What happened to one site (and key type) in a run. */
export type SiteAction =
  /** Imperva took the certificate. */
  | 'uploaded'
  /** Imperva already serves it: nothing sent. */
  | 'current'
  /** The upload failed; queued for sync. */
  | 'failed'
  /** A dry run: would upload. */
  | 'planned'
  /** The run was stopped (signal) before this site: still owed, recorded for sync. */
  | 'not-reached'
  /** The run's deadline came before this site (sync): still owed, the next sync goes on from here. */
  | 'deferred';

export interface SiteError {
  code: string;
  message: string;
  res?: number | undefined;
  httpStatus?: number | undefined;
  transient: boolean;
  attempts: number;
}

export interface SiteResult {
  siteId: string;
  keyType: KeyType;
  names: string[];
  fingerprint: string;
  notAfter: string;
  action: SiteAction;
  error?: SiteError | undefined;
}

/** A problem that is not one site's upload: a certificate that cannot be used, a queue that cannot be trusted. */
export interface Problem {
  message: string;
  exitCode: ExitCode;
}

/** What every command returns. Nothing here is a secret: it may be printed as JSON. */
export interface Report {
  command: string;
  sites: SiteResult[];
  problems: Problem[];
  /** Nothing failed in this run, but what it found is not as it should be (status, check). */
  unhealthy: boolean;
  /** The signal that stopped the run. */
  interrupted?: NodeJS.Signals | undefined;
  /** What the command adds to its --json document (status: its rows as `sites`). */
  data?: Record<string, unknown> | undefined;
  /** For the metrics file: expiries the command saw (beyond the local ones of `sites`). */
  expiries?: ExpirySample[] | undefined;
  /** For the metrics file: sources whose whole picture the command saw (their older samples go). */
  replaceSources?: ExpirySource[] | undefined;
  /** For the metrics file: site and key type pairs that hold nothing any more (remove). */
  forget?: { siteId: string; keyType: KeyType }[] | undefined;
}

export function emptyReport(command: string): Report {
  return { command, sites: [], problems: [], unhealthy: false };
}

/**
 * The one place where an outcome becomes an exit code: a report, or the error that ended a run before it had one.
 * A run stopped by a signal (however it ended) exits 128 + the signal's number; then usage (2), certificate (3), a failed site or an unhealthy
 * state (1), else 0.
 */
export function exitCodeOf(outcome: unknown, stoppedBy?: NodeJS.Signals): number {
  const signal = isReport(outcome) ? (outcome.interrupted ?? stoppedBy) : stoppedBy;
  if (signal !== undefined) return 128 + (constants.signals[signal] ?? 15);
  if (isReport(outcome)) {
    const codes = outcome.problems.map((problem) => problem.exitCode as number);
    if (outcome.unhealthy || outcome.sites.some((site) => site.action === 'failed'))
      codes.push(ExitCode.SiteFailed);
    for (const code of [ExitCode.Usage, ExitCode.Certificate, ExitCode.SiteFailed]) {
      if (codes.includes(code)) return code;
    }
    return ExitCode.Ok;
  }
  return outcome instanceof IncapCertError ? outcome.exitCode : ExitCode.SiteFailed;
}

export function isReport(value: unknown): value is Report {
  return typeof value === 'object' && value !== null && 'sites' in value && 'problems' in value;
}
