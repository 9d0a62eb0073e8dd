import * as v from 'valibot';

/**
 * The retry queue file's one schema; its types are derived from it. Version 3 (0.2) keys entries by site and key
 * type, records intent (`pending`) before an upload as well as failures after it, and keeps the deferral clock
 * (`unreachedSince`) as a field. Older files are read and migrated entry by entry (1 → 2 → 3): an entry that was
 * valid then is never lost to the stricter schema of now, and one that was not is kept aside.
 *
 * Within version 3, a field added later is optional, and a field this build does not know is left out rather than
 * the entry refused: adding a field needs no new version, and a build that predates it still reads the file.
 */
export const QUEUE_VERSION = 3;

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

/** What the 0.2 development builds wrote as version 2: every field of version 3 but the deferral clock. */
const V2EntrySchema = v.strictObject({
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
type V2Entry = v.InferOutput<typeof V2EntrySchema>;

export const QueueEntrySchema = v.object({
  ...V2EntrySchema.entries,
  /**
   * Since when Imperva has not answered for the site: when it was first owed (pending or deferred), reset by each
   * failure Imperva answered, and kept by a failure for having been deferred too long (Imperva did not answer that
   * either). Sync reaches the site unreached longest first, and fails a site deferred past the deferral limit.
   */
  unreachedSince: isoTime,
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
  version: v.picklist([1, 2, QUEUE_VERSION]),
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
    const result = parseEntry(file.output.version, entry);
    if ('problem' in result) parsed.rejected.push({ entry, problem: result.problem });
    else parsed.entries.push(result.entry);
  }
  return parsed;
}

function parseEntry(version: 1 | 2 | 3, entry: unknown): { entry: QueueEntry } | { problem: string } {
  if (version === QUEUE_VERSION) return checked(QueueEntrySchema, entry);
  const old = checked(V2EntrySchema, version === 1 ? migrateV1(entry) : entry);
  if ('problem' in old) return old;
  return checked(QueueEntrySchema, { ...old.entry, unreachedSince: unreachedSinceOf(old.entry) });
}

function checked<S extends typeof QueueEntrySchema | typeof V2EntrySchema>(
  schema: S,
  entry: unknown,
): { entry: v.InferOutput<S> } | { problem: string } {
  const result = v.safeParse(schema, entry);
  return result.success ? { entry: result.output } : { problem: describeIssue(result.issues[0]) };
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

/**
 * Version 2 kept the deferral clock of a site failed for being deferred too long only in its error text, as the
 * engine worded it then: 'deferred by every sync since <ISO time>; raise deadlineSeconds …'. Read once, here.
 */
const DEFERRED_TOO_LONG = /^deferred by every sync since ([^;]+);/;

/** The clock version 2 derived at every read: see QueueEntrySchema's unreachedSince. */
function unreachedSinceOf(entry: V2Entry): string {
  if (entry.state !== 'failed') return entry.since;
  const since = DEFERRED_TOO_LONG.exec(entry.lastError)?.[1];
  if (since !== undefined && v.is(isoTime, since)) return since;
  return entry.lastFailure ?? entry.since;
}

function describeIssue(issue: v.BaseIssue<unknown> | undefined): string {
  if (issue === undefined) return 'not a queue entry';
  const path = v.getDotPath(issue);
  return `${path === null ? '' : `${path}: `}${issue.message}`;
}
