import type { KeyType, CertificateFiles } from '../model/certificate.js';
import { groupByKey } from '../util/by-key.js';
import { EntryIndex, keepOnly } from './entry-index.js';
import type { QueueEntry } from './schema.js';

/** A site about to get a certificate: recorded before the upload starts, so that a killed run loses nothing. */
export interface Intent {
  siteId: string;
  authType: KeyType;
  names: string[];
  source: CertificateFiles;
  fingerprint: string;
  notAfter: Date;
  explicit?: boolean | undefined;
}

/** A site whose upload failed. */
export interface Failure extends Intent {
  error: string;
  attempts: number;
  /**
   * Set when the site failed for having been deferred too long: since when it has gone unreached (the clock it
   * was judged by, kept). Any other failure is an answer from Imperva, and resets the clock.
   */
  unreachedSince?: string | undefined;
}

/** A site that got a certificate expiring at `notAfter` (of `authType`, when known). */
export interface Delivered {
  siteId: string;
  authType?: KeyType | undefined;
  notAfter: Date;
}

/** What one run settles: its failures and deferrals are recorded, its deliveries remove what they satisfy. */
export interface Settlement {
  failures?: readonly Failure[];
  delivered?: readonly Delivered[];
  /** Not reached before the run's deadline: still owed, not failed. */
  deferred?: readonly Intent[];
}

/** The longest error text kept per entry (after redaction: never cut a secret in half before it is found). */
const MAX_ERROR = 500;

/** An entry still owed: `pending` (an upload about to start) or `deferred` (the run's deadline came first). */
export function owedEntry(intent: Intent, state: QueueEntry['state'], at: string): QueueEntry {
  return {
    siteId: intent.siteId,
    authType: intent.authType,
    names: [...intent.names],
    source: definedOnly(intent.source),
    fingerprint: intent.fingerprint,
    notAfter: intent.notAfter.toISOString(),
    state,
    explicit: intent.explicit === true,
    since: at,
    lastError: '',
    attempts: 0,
    unreachedSince: at,
  };
}

/** A failed entry; `same` is the entry it replaces, whose history it carries when it is for the same certificate. */
export function failedEntry(
  failure: Failure,
  same: QueueEntry | undefined,
  at: string,
  redact: (text: string) => string,
): QueueEntry {
  const carried = same !== undefined && same.fingerprint === failure.fingerprint;
  return {
    siteId: failure.siteId,
    authType: failure.authType,
    names: [...failure.names],
    source: definedOnly(failure.source),
    fingerprint: failure.fingerprint,
    notAfter: failure.notAfter.toISOString(),
    state: 'failed',
    explicit: failure.explicit === true || (carried && same.explicit),
    since: carried ? same.since : at,
    lastError: redact(failure.error).slice(0, MAX_ERROR),
    attempts: (carried ? same.attempts : 0) + failure.attempts,
    firstFailure: carried ? (same.firstFailure ?? at) : at,
    lastFailure: at,
    unreachedSince: failure.unreachedSince ?? at,
  };
}

/** What a settlement records, each entry standing alone: what a run keeps aside when it cannot have the lock. */
export function recordedEntries(
  settlement: Settlement,
  at: string,
  redact: (text: string) => string,
): QueueEntry[] {
  return [
    ...(settlement.failures ?? []).map((failure) => failedEntry(failure, undefined, at, redact)),
    ...(settlement.deferred ?? []).map((intent) => owedEntry(intent, 'deferred', at)),
  ];
}

/**
 * Applies a settlement to the entries, in place: an entry goes when its site got its certificate or a newer one;
 * a failure replaces the entry for its site and key type (a newer certificate replaces, an older one never displaces
 * a newer); a deferral is recorded without erasing a failure's history.
 */
export function applySettlement(
  entries: QueueEntry[],
  settlement: Settlement,
  at: string,
  redact: (text: string) => string,
): void {
  const deliveries = groupByKey(settlement.delivered ?? [], (delivery) => delivery.siteId);
  keepOnly(
    entries,
    (entry) =>
      !(deliveries.get(entry.siteId) ?? []).some(
        (delivery) =>
          (delivery.authType === undefined || delivery.authType === entry.authType) &&
          delivery.notAfter.getTime() >= Date.parse(entry.notAfter),
      ),
  );
  const index = new EntryIndex(entries);
  for (const failure of settlement.failures ?? []) {
    const same = index.find(failure);
    if (same !== undefined && Date.parse(same.notAfter) > failure.notAfter.getTime()) continue;
    index.upsert(failedEntry(failure, same, at, redact), 'replace');
  }
  for (const intent of settlement.deferred ?? [])
    index.upsert(owedEntry(intent, 'deferred', at), 'keep-state');
}

function definedOnly(files: CertificateFiles): QueueEntry['source'] {
  return Object.fromEntries(
    Object.entries(files).filter(([, value]) => value !== undefined),
  ) as QueueEntry['source'];
}
