import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LockTimeoutError, StateError } from '../model/errors.js';
import type { Log } from '../log/logger.js';
import type { RunContext } from '../run/context.js';
import { atomicWrite, removeTempFiles } from './atomic-write.js';
import {
  holdsDropFiles,
  mergeDropFolder,
  removeDeadTempFiles,
  setAside,
  writeDropFile,
  type DropMerge,
} from './drop-folder.js';
import { keepOnly } from './entry-index.js';
import { LockStoppedError, LockUnusableError, withLock } from './lock.js';
import {
  MAX_QUEUE_BYTES,
  parseQueueText,
  readQueueText,
  serializeQueue,
  untrustedQueueReason,
} from './queue-file.js';
import type { QueueEntry } from './schema.js';
import {
  applySettlement,
  owedEntry,
  recordedEntries,
  type Delivered,
  type Failure,
  type Intent,
  type Settlement,
} from './transitions.js';

/** What bounds a wait for another run's lock: at most `waitMs`, never past the run's end, and not once it is stopped. */
export interface QueueWait {
  waitMs?: number | undefined;
  /** When the whole run must be over (RunContext.endsAt): a hook never outlives its deadline waiting here. */
  endsAt?: number | undefined;
  /** The run's stop signal: a SIGTERM during the wait ends it, and the change goes to queue.d/. */
  signal?: AbortSignal | undefined;
}

/**
 * The durable retry queue: `queue.json` under stateDir (folder 0700, file 0600), changed only under a lock and
 * written atomically (temp file, fsync, rename, fsync of the folder), so that concurrent runs can neither corrupt
 * nor drop entries. A file that does not parse, is not a regular file or is larger than 64 MiB is kept aside and
 * reported; an entry that does not pass the schema is kept aside in `queue.rejected-TIME.json` and reported. When the lock cannot
 * be had in time, the change is written to a file of its own in `queue.d/`, merged by the next run that holds it.
 * A state folder that others could have written is never read or written.
 */
export class Queue {
  readonly file: string;
  private readonly lockFile: string;
  private readonly dropDir: string;
  /**
   * This run's intent, written by `begin` to a file of its own in queue.d, and what it holds: settle merges these
   * rather than read its own file back. Only while the file is there: a run that merged it first has them in
   * queue.json.
   */
  private intent: { file: string; entries: QueueEntry[] } | undefined;

  constructor(
    readonly stateDir: string,
    private readonly log: Log,
    private readonly now: () => Date = () => new Date(),
    private readonly redact: (text: string) => string = (text) => text,
    /** How long to wait for another run's lock before writing the change aside. */
    private readonly wait: QueueWait = {},
  ) {
    this.file = join(stateDir, 'queue.json');
    this.lockFile = join(stateDir, 'queue.lock');
    this.dropDir = join(stateDir, 'queue.d');
  }

  /** The run's queue: its state folder, log, clock and redaction, its lock waits bounded by its end and its stop. */
  static ofRun(ctx: Pick<RunContext, 'config' | 'log' | 'now' | 'redactor' | 'endsAt' | 'signal'>): Queue {
    return new Queue(ctx.config.stateDir, ctx.log, ctx.now, (text) => ctx.redactor.redact(text), {
      endsAt: ctx.endsAt,
      signal: ctx.signal,
    });
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
      const entries = intents.map((intent) => owedEntry(intent, 'pending', at));
      this.intent = { file: await writeDropFile(this.dropDir, entries, this.stamp()), entries };
    } catch (error) {
      if (error instanceof StateError) throw error;
      throw await this.cannotUpdate(error);
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
    // Deliveries alone change nothing when nothing is queued.
    if (
      (settlement.failures ?? []).length === 0 &&
      (settlement.deferred ?? []).length === 0 &&
      ((settlement.delivered ?? []).length === 0 || !(await this.holdsAnything()))
    )
      return this.entries();
    const at = this.now().toISOString();
    return this.change(
      (entries) => applySettlement(entries, settlement, at, this.redact),
      () => recordedEntries(settlement, at, this.redact),
    );
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

  private checkTrust(): void {
    const reason = untrustedQueueReason(this.stateDir, this.file, this.dropDir);
    if (reason !== undefined) {
      throw new StateError(`not using the retry queue in ${this.stateDir}: ${reason}`, true);
    }
  }

  private async holdsAnything(): Promise<boolean> {
    return (
      (await readQueueText(this.file, MAX_QUEUE_BYTES)) !== undefined || (await holdsDropFiles(this.dropDir))
    );
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
          // What killed writes left: every write in the state folder holds this lock; queue.d's writers may not.
          await removeTempFiles(this.stateDir);
          await removeDeadTempFiles(this.dropDir);
          const loaded = await this.load(true);
          const entries = loaded.entries;
          fn(entries);
          // An empty queue that had no file gets none: a clean run leaves no queue behind.
          if (entries.length > 0 || loaded.existed) await atomicWrite(this.file, serializeQueue(entries));
          for (const merged of loaded.drop.merged) await rm(merged, { force: true });
          // Set aside only now that queue.json holds their valid entries: a kill before this merges them again.
          for (const { file, problem } of loaded.drop.rejected) {
            this.log.warn(`retry queue change ${file}: ${problem}; kept aside as ${await setAside(file)}`);
          }
          if (this.intent !== undefined) await rm(this.intent.file, { force: true });
          this.intent = undefined;
          return entries;
        },
        {
          waitMs: this.wait.waitMs ?? 15_000,
          deadlineAt: this.wait.endsAt,
          signal: this.wait.signal,
          setAside: (message) => this.log.warn(message),
        },
      );
    } catch (error) {
      if (error instanceof StateError && !(error instanceof LockTimeoutError)) throw error;
      if (error instanceof LockTimeoutError) {
        const message =
          error instanceof LockUnusableError
            ? `the retry queue in ${this.stateDir} cannot be locked: ${error.message}`
            : error instanceof LockStoppedError
              ? `the run was asked to stop while it waited for the retry queue's lock in ${this.stateDir}`
              : `the retry queue in ${this.stateDir} is locked by another run`;
        if (fallback === undefined) throw new LockTimeoutError(message);
        // This run's intent file, if any, is replaced by what is still owed: what was delivered is not.
        let aside: string;
        try {
          aside = await writeDropFile(this.dropDir, fallback(), this.stamp(), this.intent?.file);
        } catch (asideError) {
          throw await this.cannotUpdate(asideError, message);
        }
        this.intent = undefined;
        this.log.warn(`${message}; recorded in ${aside} instead, for the next run to merge`);
        return [];
      }
      throw await this.cannotUpdate(error);
    }
  }

  /**
   * The one-line StateError for a write that failed: what is in the way when a folder of the queue is something else
   * (a FIFO, a file), else the error's code. `before` says what had already gone wrong (a lock not had).
   */
  private async cannotUpdate(error: unknown, before?: string): Promise<StateError> {
    const code = (error as NodeJS.ErrnoException).code;
    let why = code ?? (error as Error).message;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      for (const folder of [this.stateDir, this.dropDir]) {
        const info = await stat(folder).catch(() => undefined);
        if (info !== undefined && !info.isDirectory()) {
          why = `${folder} is ${info.isFIFO() ? 'a FIFO' : info.isFile() ? 'a file' : 'something else'}, not a folder`;
          break;
        }
      }
    }
    return new StateError(
      `${before === undefined ? '' : `${before}, and `}cannot update the retry queue in ${this.stateDir} (${why})`,
    );
  }

  /**
   * Reads the file and any changes written aside. A corrupt file is renamed aside (when `locked`) and reported;
   * entries that fail the schema are written aside (when `locked`) and reported.
   */
  private async load(locked: boolean): Promise<{ entries: QueueEntry[]; drop: DropMerge; existed: boolean }> {
    const entries: QueueEntry[] = [];
    const read = await readQueueText(this.file, MAX_QUEUE_BYTES);
    const parsed = read !== undefined && 'text' in read ? parseQueueText(read.text) : undefined;
    if (read !== undefined && parsed === undefined) {
      const what = 'unusable' in read ? `not read (${read.unusable})` : 'corrupt';
      if (locked) {
        const aside = `${this.file}.${'unusable' in read ? 'rejected' : 'corrupt'}-${this.stamp()}`;
        await rename(this.file, aside);
        this.log.warn(
          `retry queue ${this.file} was ${what}; kept aside as ${aside} (sync rebuilds what it owed from the live certificates)`,
        );
      } else {
        this.log.warn(`retry queue ${this.file} is ${what}; the next change will keep it aside`);
      }
    } else if (parsed !== undefined) {
      entries.push(...parsed.entries);
      if (parsed.rejected.length > 0) await this.reject(parsed.rejected, locked);
    }
    const drop = await mergeDropFolder(this.dropDir, entries, this.intent);
    if (!locked) {
      for (const { file, problem } of drop.rejected) {
        this.log.warn(`retry queue change ${file}: ${problem}; the next change will keep it aside`);
      }
    }
    return { entries, drop, existed: read !== undefined };
  }

  private async reject(rejected: { entry: unknown; problem: string }[], locked: boolean): Promise<void> {
    const problems = rejected.map((item) => item.problem).join('; ');
    if (!locked) {
      this.log.warn(`retry queue ${this.file}: ${rejected.length} entries are not valid (${problems})`);
      return;
    }
    const aside = join(this.stateDir, `queue.rejected-${this.stamp()}.json`);
    await atomicWrite(aside, `${JSON.stringify({ rejected }, null, 2)}\n`);
    this.log.warn(
      `retry queue ${this.file}: ${rejected.length} entr${rejected.length === 1 ? 'y is' : 'ies are'} not valid (${problems}); kept aside in ${aside}`,
    );
  }

  private stamp(): string {
    return this.now().toISOString().replace(/[:.]/g, '-');
  }
}
