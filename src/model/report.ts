import type { KeyType } from './certificate.js';
import type { ExitCode } from './errors.js';

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
  /** For the metrics file: expiry samples that are no longer true (remove, a pruned key type). */
  forget?: StaleExpiry[] | undefined;
  /** For the metrics file: each lineage's renewal window and state (src/ari/), when the command judged them. */
  lineages?: LineageSample[] | undefined;
  /** For the metrics file: the API key's expiry; null when the run found none (src/imperva/api-client-findings.ts). */
  apiKeyExpiry?: Date | null | undefined;
  /** For the metrics file: the renewal-path canary's last check (src/canary/metrics.ts), when this run made one. */
  renewalPaths?: RenewalPathSample | undefined;
}

/** One check of the renewal paths: when, every lineage checked, and each name's pass (1) or not (0). */
export interface RenewalPathSample {
  at: Date;
  lineages: string[];
  names: { lineage: string; name: string; ok: boolean }[];
}

export interface LineageSample {
  lineage: string;
  state: string;
  windowEnd: Date;
}

export function emptyReport(command: string): Report {
  return { command, sites: [], problems: [], unhealthy: false };
}

export function isReport(value: unknown): value is Report {
  return typeof value === 'object' && value !== null && 'sites' in value && 'problems' in value;
}

export type ExpirySource = 'local' | 'imperva' | 'edge';

/** A certificate's notAfter for one site and key type, as one source saw it. */
export interface ExpirySample {
  siteId: string;
  keyType: KeyType;
  source: ExpirySource;
  notAfter: Date;
}

/**
 * Expiry samples of one site and key type that are no longer true: those of one source, or (no source) of every
 * source, as when the certificate was removed.
 */
export interface StaleExpiry {
  siteId: string;
  keyType: KeyType;
  source?: ExpirySource | undefined;
}
