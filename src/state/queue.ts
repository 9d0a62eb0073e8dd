import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CertificateFiles, KeyType } from '../certificate/read.js';
import { LockTimeoutError, StateError } from '../errors.js';
import type { Log } from '../log/logger.js';
import { untrustedFolderReason, untrustedReason } from '../util/trust.js';
import { withLock } from './lock.js';
import { parseQueueFile, QUEUE_VERSION, type QueueEntry } from './schema.js';

export type { QueueEntry } from './schema.js';
/** The queue's errors are the project's state errors. */
export { StateError as QueueError } from '../errors.js';

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

export interface Settlement {
  failures?: readonly Failure[];
  delivered?: readonly Delivered[];
  /** Not reached before the run's deadline: still owed, not failed. */
  deferred?: readonly Intent[];
}

/** The longest error text kept per entry (after redaction: never cut a secret in half before it is found). */
const MAX_ERROR = 500;

/**
 * The durable retry queue: `queue.json` under stateDir (folder 0700, file 0600), changed only under a lock and
 * written atomically (temp file, fsync, rename, fsync of the folder), so that concurrent runs can neither corrupt
 * nor drop entries. A file that does not parse is kept aside and reported; an
 * entry that does not pass the schema is kept aside in `queue.rejected-TIME.json` and reported. When the lock cannot
 * be had in time, the change is written to a file of its own in `queue.d/`, merged by the next run that holds it.
 * A state folder that others could have written is never read or written.
 */
export class Queue {
  readonly file: string;
  private readonly lockFile: string;
  private readonly pendingDir: string;
  /** This run's intent, written by `begin`. */
  private intentFile: string | undefined;
  /**
   * What this run wrote to intentFile: settle merges these rather than read back and check its own file (for a
   * run over thousands of sites, megabytes parsed again at its peak). Only while the file is there: a run that
   * merged it first has them in queue.json.
   */
  private intentEntries: QueueEntry[] | undefined;

  constructor(
    readonly stateDir: string,
    private readonly log: Log,
    private readonly now: () => Date = () => new Date(),
    private readonly redact: (text: string) => string = (text) => text,
    /** How long to wait for another run's lock before writing the change aside (tests shorten it). */
    private readonly lockWaitMs = 15_000,
  ) {
    this.file = join(stateDir, 'queue.json');
    this.lockFile = join(stateDir, 'queue.lock');
    this.pendingDir = join(stateDir, 'queue.d');
  }

  /** The entries as they are now (no lock: a reader sees the last complete write, plus changes not yet merged). */
  async entries(): Promise<QueueEntry[]> {
    this.checkTrust();
    const { entries } = await this.load(false);
    return entries;
  }

  /**
   * Records what is about to be uploaded, before the first upload starts: a file of its own in `queue.d/` (no lock
   * to wait for), which `settle` clears. A run killed before it settles leaves the file, and the next run that
   * reads the queue finds those sites still owed.
   */
  async begin(intents: readonly Intent[]): Promise<void> {
    if (intents.length === 0) return;
    this.checkTrust();
    const at = this.now().toISOString();
    try {
      await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
      this.checkTrust();
      const entries = intents.map((intent) => this.entry(intent, 'pending', at));
      this.intentFile = await this.writeAside(entries);
      this.intentEntries = entries;
    } catch (error) {
      if (error instanceof StateError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw new StateError(
        `cannot update the retry queue in ${this.stateDir} (${code ?? (error as Error).message})`,
      );
    }
  }

  /** Records failures and deferrals and removes what was delivered, in one locked, atomic change. */
  async settle(
    failuresOrSettlement: readonly Failure[] | Settlement,
    delivered: readonly Delivered[] = [],
  ): Promise<QueueEntry[]> {
    const settlement: Settlement = Array.isArray(failuresOrSettlement)
      ? { failures: failuresOrSettlement as readonly Failure[], delivered }
      : (failuresOrSettlement as Settlement);
    const failures = settlement.failures ?? [];
    const done = settlement.delivered ?? [];
    const deferred = settlement.deferred ?? [];
    // Deliveries alone change nothing when nothing is queued.
    if (
      failures.length === 0 &&
      deferred.length === 0 &&
      (done.length === 0 || !(await this.holdsAnything()))
    )
      return this.entries();
    const at = this.now().toISOString();
    const recorded = () => [
      ...failures.map((failure) => this.failed(failure, undefined, at)),
      ...deferred.map((intent) => this.entry(intent, 'deferred', at)),
    ];
    return this.change((entries) => {
      const deliveries = groupBy(done, (delivery) => delivery.siteId);
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
      for (const failure of failures) {
        const same = index.find(failure);
        // A newer certificate for the site replaces the entry; an older one never displaces a newer.
        if (same !== undefined && Date.parse(same.notAfter) > failure.notAfter.getTime()) continue;
        index.upsert(this.failed(failure, same, at), 'replace');
      }
      for (const intent of deferred) index.upsert(this.entry(intent, 'deferred', at), 'keep-state');
    }, recorded);
  }

  /** Removes the entries `drop` picks; returns them. */
  async remove(drop: (entry: QueueEntry) => boolean): Promise<QueueEntry[]> {
    if (!(await this.holdsAnything())) return [];
    const removed: QueueEntry[] = [];
    await this.change((entries) => {
      keepOnly(entries, (entry) => {
        if (!drop(entry)) return true;
        removed.push(entry);
        return false;
      });
    });
    return removed;
  }

  private entry(intent: Intent, state: QueueEntry['state'], at: string): QueueEntry {
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

  /** A failed entry, as one literal (a spread of entry() would give each its own hidden class: see wantOf). */
  private failed(failure: Failure, same: QueueEntry | undefined, at: string): QueueEntry {
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
      lastError: this.redact(failure.error).slice(0, MAX_ERROR),
      attempts: (carried ? same.attempts : 0) + failure.attempts,
      firstFailure: carried ? (same.firstFailure ?? at) : at,
      lastFailure: at,
      unreachedSince: failure.unreachedSince ?? at,
    };
  }

  private checkTrust(): void {
    // queue.d holds changes that are merged as they are (explicit entries included): it is trusted like the folder.
    const reason =
      untrustedFolderReason(this.stateDir) ??
      untrustedReason(this.file) ??
      untrustedFolderReason(this.pendingDir);
    if (reason !== undefined) {
      throw new StateError(`not using the retry queue in ${this.stateDir}: ${reason}`, true);
    }
  }

  private async holdsAnything(): Promise<boolean> {
    return (await this.read(this.file)) !== undefined || (await this.pendingFiles()).length > 0;
  }

  /**
   * One locked change. `fallback` gives the entries to keep should the lock not come in time: they are written to a
   * file of their own, which the next locked change merges.
   */
  private async change(
    fn: (entries: QueueEntry[]) => void,
    fallback?: () => QueueEntry[],
  ): Promise<QueueEntry[]> {
    this.checkTrust();
    try {
      await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
      this.checkTrust();
      return await withLock(
        this.lockFile,
        async () => {
          const loaded = await this.load(true);
          const entries = loaded.entries;
          fn(entries);
          await this.write(entries, loaded.existed);
          for (const merged of loaded.merged) await rm(merged, { force: true });
          if (this.intentFile !== undefined) await rm(this.intentFile, { force: true });
          this.intentFile = undefined;
          this.intentEntries = undefined;
          return entries;
        },
        { waitMs: this.lockWaitMs },
      );
    } catch (error) {
      if (error instanceof StateError && !(error instanceof LockTimeoutError)) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (isLockTimeout(error)) {
        const message = `the retry queue in ${this.stateDir} is locked by another run`;
        if (fallback === undefined) throw new LockTimeoutError(message);
        // This run's intent file, if any, is replaced by what is still owed: what was delivered is not.
        const aside = await this.writeAside(fallback(), this.intentFile);
        this.intentFile = undefined;
        this.intentEntries = undefined;
        this.log.warn(`${message}; recorded in ${aside} instead, for the next run to merge`);
        return [];
      }
      throw new StateError(
        `cannot update the retry queue in ${this.stateDir} (${code ?? (error as Error).message})`,
      );
    }
  }

  /**
   * Reads the file and any changes written aside. A corrupt file is renamed aside (when `locked`) and reported;
   * entries that fail the schema are written aside (when `locked`) and reported.
   */
  private async load(
    locked: boolean,
  ): Promise<{ entries: QueueEntry[]; merged: string[]; existed: boolean }> {
    const entries: QueueEntry[] = [];
    const merged: string[] = [];
    let index: EntryIndex | undefined;
    const text = await this.read(this.file);
    if (text !== undefined) {
      const parsed = parseJson(text);
      if (parsed === undefined) {
        if (locked) {
          const aside = `${this.file}.corrupt-${this.stamp()}`;
          await rename(this.file, aside);
          this.log.warn(
            `retry queue ${this.file} was corrupt; kept aside as ${aside} (sync rebuilds what it owed from the live certificates)`,
          );
        } else {
          this.log.warn(`retry queue ${this.file} is corrupt; the next change will keep it aside`);
        }
      } else {
        entries.push(...parsed.entries);
        if (parsed.rejected.length > 0) await this.reject(parsed.rejected, locked);
      }
    }
    for (const name of await this.pendingFiles()) {
      const file = join(this.pendingDir, name);
      const own = file === this.intentFile ? this.intentEntries : undefined;
      const parsed = own === undefined ? parseJson((await this.read(file)) ?? '') : { entries: own };
      if (parsed === undefined) continue; // being written, or junk: left for a later run
      index ??= new EntryIndex(entries);
      for (const entry of parsed.entries) index.upsert(entry, 'merge');
      merged.push(file);
    }
    return { entries, merged, existed: text !== undefined };
  }

  private async reject(rejected: { entry: unknown; problem: string }[], locked: boolean): Promise<void> {
    const problems = rejected.map((item) => item.problem).join('; ');
    if (!locked) {
      this.log.warn(`retry queue ${this.file}: ${rejected.length} entries are not valid (${problems})`);
      return;
    }
    const aside = join(this.stateDir, `queue.rejected-${this.stamp()}.json`);
    await this.atomicWrite(aside, `${JSON.stringify({ rejected }, null, 2)}\n`);
    this.log.warn(
      `retry queue ${this.file}: ${rejected.length} entr${rejected.length === 1 ? 'y is' : 'ies are'} not valid (${problems}); kept aside in ${aside}`,
    );
  }

  private async read(file: string): Promise<string | undefined> {
    try {
      return await readFile(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new StateError(`cannot read the retry queue ${file} (${code ?? 'unknown error'})`);
    }
  }

  private async pendingFiles(): Promise<string[]> {
    try {
      return (await readdir(this.pendingDir)).filter((name) => name.endsWith('.json')).sort();
    } catch {
      return [];
    }
  }

  private async writeAside(entries: QueueEntry[], replace?: string): Promise<string> {
    await mkdir(this.pendingDir, { recursive: true, mode: 0o700 });
    const file =
      replace ??
      join(this.pendingDir, `${this.stamp()}-${process.pid}-${randomBytes(4).toString('hex')}.json`);
    await this.atomicWrite(file, serialize(entries));
    return file;
  }

  /** An empty queue that had no file gets none: a clean run leaves no queue behind. */
  private async write(entries: QueueEntry[], existed: boolean): Promise<void> {
    if (entries.length === 0 && !existed) return;
    await this.atomicWrite(this.file, serialize(entries));
  }

  /** Writes `text` (or its pieces, in order) to a temporary file, syncs it, and renames it over `file`. */
  private async atomicWrite(file: string, text: string | Iterable<string>): Promise<void> {
    const folder = join(file, '..');
    const temp = join(folder, `.queue.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const handle = await open(temp, 'wx', 0o600);
    try {
      // writeFile, not write: on a disk that fills up part way through, write(2) writes what fits and says so
      // without an error (a short write); writeFile writes the rest, which then fails. A piece cut short and renamed
      // over queue.json would lose every entry after it. Each writeFile goes on from where the last one ended.
      if (typeof text === 'string') await handle.writeFile(text);
      else for (const piece of batched(text, WRITE_BATCH)) await handle.writeFile(piece);
      await handle.sync();
    } catch (error) {
      // A full disk: leave no temp file behind (each run would add one, and none would ever go).
      await handle.close();
      await rm(temp, { force: true });
      throw error;
    }
    await handle.close();
    await rename(temp, file);
    await syncFolder(folder);
  }

  private stamp(): string {
    return this.now().toISOString().replace(/[:.]/g, '-');
  }
}

/**
 * The queue file's text, `JSON.stringify({ version, entries }, null, 2)` and a newline, in pieces of an entry
 * each: a queue of thousands of sites is megabytes, and as one string (and its bytes) it would be the largest thing
 * a run holds, at its peak.
 */
function* serialize(entries: readonly QueueEntry[]): Generator<string> {
  if (entries.length === 0) {
    yield `{\n  "version": ${QUEUE_VERSION},\n  "entries": []\n}\n`;
    return;
  }
  yield `{\n  "version": ${QUEUE_VERSION},\n  "entries": [`;
  for (let index = 0; index < entries.length; index += 1) {
    const entry = JSON.stringify(entries[index], null, 2).replaceAll('\n', '\n    ');
    yield `${index === 0 ? '' : ','}\n    ${entry}`;
  }
  yield '\n  ]\n}\n';
}

/** How much of the queue file goes to the disk at once. */
const WRITE_BATCH = 64 * 1024;

/** The pieces joined into strings of about `size` characters (the last may be shorter). */
function* batched(pieces: Iterable<string>, size: number): Generator<string> {
  let batch = '';
  for (const piece of pieces) {
    batch += piece;
    if (batch.length >= size) {
      yield batch;
      batch = '';
    }
  }
  if (batch !== '') yield batch;
}

function parseJson(text: string) {
  try {
    return parseQueueFile(JSON.parse(text));
  } catch {
    return undefined;
  }
}

async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function keyOf(entry: { siteId: string; authType: KeyType }): string {
  return `${entry.siteId} ${entry.authType}`;
}

/**
 * Where each site and key type's entry is in `entries` (the first, should a hand-edited file hold two): finding and
 * replacing take constant time, so a change to a queue of thousands of sites is not quadratic.
 */
class EntryIndex {
  private readonly at = new Map<string, number>();

  constructor(private readonly entries: QueueEntry[]) {
    entries.forEach((entry, index) => {
      const key = keyOf(entry);
      if (!this.at.has(key)) this.at.set(key, index);
    });
  }

  find(key: { siteId: string; authType: KeyType }): QueueEntry | undefined {
    const index = this.at.get(keyOf(key));
    return index === undefined ? undefined : this.entries[index];
  }

  /**
   * Puts `entry` in place of the entry for its site and key type. 'replace' as it is; 'keep-state' keeps a failed
   * entry's history for the same certificate (an intent does not erase a failure); 'merge' (changes written aside)
   * keeps whichever certificate expires later. An older certificate never displaces a newer one.
   */
  upsert(entry: QueueEntry, how: 'replace' | 'keep-state' | 'merge'): void {
    const key = keyOf(entry);
    const index = this.at.get(key);
    if (index === undefined) {
      this.at.set(key, this.entries.length);
      this.entries.push(entry);
      return;
    }
    const same = this.entries[index] as QueueEntry;
    if (how === 'replace') {
      this.entries[index] = entry;
      return;
    }
    if (Date.parse(same.notAfter) > Date.parse(entry.notAfter)) return;
    if (same.fingerprint === entry.fingerprint) {
      this.entries[index] =
        how === 'merge' && entry.state === 'failed'
          ? { ...entry, since: same.since, attempts: Math.max(same.attempts, entry.attempts) }
          : {
              ...same,
              explicit: same.explicit || entry.explicit,
              state: same.state === 'failed' ? 'failed' : entry.state,
            };
      return;
    }
    this.entries[index] = entry;
  }
}

/** Keeps, in order and in place, the entries `keep` says yes to: one pass, however many go. */
function keepOnly(entries: QueueEntry[], keep: (entry: QueueEntry) => boolean): void {
  let kept = 0;
  for (const entry of entries) if (keep(entry)) entries[kept++] = entry;
  entries.length = kept;
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(keyOf(item));
    if (group === undefined) groups.set(keyOf(item), [item]);
    else group.push(item);
  }
  return groups;
}

function definedOnly(files: CertificateFiles): QueueEntry['source'] {
  return Object.fromEntries(
    Object.entries(files).filter(([, value]) => value !== undefined),
  ) as QueueEntry['source'];
}

function isLockTimeout(error: unknown): boolean {
  return error instanceof LockTimeoutError;
}
