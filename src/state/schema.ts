import * as v from 'valibot';

/**
 * The retry queue file's one schema; its types are derived from it. Version 2 (0.2) keys entries by site and key
 * type and records intent (`pending`) before an upload as well as failures after it. Version 1 (0.1) files are read
 * and migrated entry by entry: an entry that was valid then is never lost to the stricter schema of now.
 */

const isoTime = v.pipe(v.string(), v.isoTimestamp());
const files = v.strictObject({
  cert: v.pipe(v.string(), v.minLength(1)),
  key: v.pipe(v.string(), v.minLength(1)),
  issuer: v.optional(v.pipe(v.string(), v.minLength(1))),
  lineage: v.optional(v.pipe(v.string(), v.minLength(1))),
});
/** What we write is the leaf's SHA-256 in lowercase hex; 0.1 wrote whatever it had, and tests write short ids. */
const FINGERPRINT = /^[0-9A-Za-z]{1,128}$/;
const siteId = v.pipe(v.string(), v.regex(/^[1-9]\d*$/));
const keyType = v.picklist(['RSA', 'ECC']);
const names = v.array(v.pipe(v.string(), v.minLength(1), v.maxLength(255)));

export const QueueEntrySchema = v.strictObject({
  siteId,
  authType: keyType,
  names,
  source: files,
  fingerprint: v.pipe(v.string(), v.regex(FINGERPRINT)),
  notAfter: isoTime,
  /** pending: an upload was about to start (a run that was killed leaves it); failed: it failed; deferred: the
   * run's deadline came first. */
  state: v.picklist(['pending', 'failed', 'deferred']),
  /** Named by `push --site-id` rather than by the map. */
  explicit: v.boolean(),
  /** Since when the site has been owed this certificate. */
  since: isoTime,
  lastError: v.pipe(v.string(), v.maxLength(2000)),
  attempts: v.pipe(v.number(), v.integer(), v.minValue(0)),
  firstFailure: v.optional(isoTime),
  lastFailure: v.optional(isoTime),
});
export type QueueEntry = v.InferOutput<typeof QueueEntrySchema>;

/** What 0.1 wrote: every field required, no state (every entry was a failure). */
const V1EntrySchema = v.object({
  siteId,
  authType: keyType,
  names,
  source: files,
  fingerprint: v.pipe(v.string(), v.minLength(1)),
  notAfter: isoTime,
  lastError: v.string(),
  attempts: v.pipe(v.number(), v.integer(), v.minValue(0)),
  firstFailure: isoTime,
  lastFailure: isoTime,
});

const FileSchema = v.object({
  version: v.picklist([1, 2]),
  entries: v.array(v.unknown()),
});

export interface ParsedQueue {
  entries: QueueEntry[];
  /** Entries that do not pass the schema of their version, as they were: kept aside, never silently dropped. */
  rejected: { entry: unknown; problem: string }[];
}

/** Parses the file's JSON; undefined when it is not a queue file at all (corrupt). */
export function parseQueueFile(raw: unknown): ParsedQueue | undefined {
  const file = v.safeParse(FileSchema, raw);
  if (!file.success) return undefined;
  const parsed: ParsedQueue = { entries: [], rejected: [] };
  for (const entry of file.output.entries) {
    const migrated = file.output.version === 1 ? migrateV1(entry) : entry;
    const result = v.safeParse(QueueEntrySchema, migrated);
    if (result.success) parsed.entries.push(result.output);
    else parsed.rejected.push({ entry, problem: describeIssue(result.issues[0]) });
  }
  return parsed;
}

function migrateV1(entry: unknown): unknown {
  const old = v.safeParse(V1EntrySchema, entry);
  if (!old.success) return entry; // reported by the version-2 check, as it is
  const { firstFailure, ...rest } = old.output;
  return {
    ...rest,
    source: Object.fromEntries(Object.entries(rest.source).filter(([, value]) => value !== undefined)),
    // 0.1 accepted any fingerprint text; 0.2 compares it with the SHA-256 it computes, so keep what was there.
    fingerprint: FINGERPRINT.test(rest.fingerprint) ? rest.fingerprint : '0'.repeat(64),
    state: 'failed',
    explicit: false,
    since: firstFailure,
    firstFailure,
  };
}

function describeIssue(issue: v.BaseIssue<unknown> | undefined): string {
  if (issue === undefined) return 'not a queue entry';
  const path = v.getDotPath(issue);
  return `${path === null ? '' : `${path}: `}${issue.message}`;
}
