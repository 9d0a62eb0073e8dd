import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Log } from '../log/logger.js';
import { LockTimeoutError, StateError } from '../model/errors.js';
import { isObject, parseStrictJson } from '../util/strict-json.js';
import { untrustedFolderReason } from '../util/trust.js';
import { atomicWrite } from './atomic-write.js';
import { withLock } from './lock.js';
import { readQueueText } from './queue-file.js';

/**
 * The pace Imperva allowed, shared between runs: `pace.json` in the state folder holds the rate learned from the
 * last 429 (requests per second) and when that 429 came. When the ACME client renews every lineage in one run (an
 * ARI storm, `--force-renewal`), its hook runs follow one another within seconds: each starts at the pace the one
 * before learned instead of bursting into 429s again and learning it anew, and so does the timer's run that
 * delivers what they deferred (docs/operations.md, "Pacing").
 *
 * Honoured for 10 minutes after that 429 (someone else sharing the key may have stopped since; a new storm learns
 * again). Like the delivery record (src/state/delivery.ts) it is an aid, never a gate: read under the queue's trust
 * rules (no link, no FIFO, owned by root or us, writable by no one else, bounded in size); one that cannot be
 * trusted or parsed is set aside with a warning and counts as none; it is written after the uploads, under the
 * queue's lock (a wait bounded by the run's deadline and stop signal), and a failure to write it is a warning.
 */

export const PACE_VERSION = 1;
/** How long a learned pace is honoured after its 429. */
export const PACE_FRESH_MS = 10 * 60_000;
/** The file holds one small object. */
const MAX_PACE_BYTES = 4096;
/** Bounds of a rate read back (requests per second): the pacer's floor, and far above anything Imperva allows. */
const MIN_PER_SECOND = 0.5;
const MAX_PER_SECOND = 10_000;

export interface Pace {
  /** Requests per second. */
  perSecond: number;
  /** When the 429 it was learned from came (ISO time). */
  at: string;
}

export class SharedPace {
  readonly file: string;
  private readonly lockFile: string;
  /** What this run learned from its last 429. */
  private learned: Pace | undefined;
  /** Why the file read at the start cannot be used: it is set aside when the run ends. */
  private problem: string | undefined;

  constructor(
    readonly stateDir: string,
    private readonly log: Log,
    private readonly now: () => Date = () => new Date(),
    /** The run's end and stop (RunContext.endsAt, signal): the lock wait ends by them, as the queue's does. */
    private readonly run: { endsAt?: number; signal?: AbortSignal } = {},
    private readonly lockWaitMs = 15_000,
  ) {
    this.file = join(stateDir, 'pace.json');
    this.lockFile = join(stateDir, 'queue.lock');
  }

  /** The pace to start from (requests per second): the shared one while it is fresh, else undefined. Never throws. */
  async start(): Promise<number | undefined> {
    const untrusted = untrustedFolderReason(this.stateDir);
    if (untrusted !== undefined) {
      this.log.debug(`not reading the shared pace in ${this.stateDir}: ${untrusted}`);
      return undefined;
    }
    let loaded: { pace?: Pace | undefined; problem?: string | undefined };
    try {
      loaded = await this.load();
    } catch (error) {
      if (!(error instanceof StateError)) throw error;
      this.log.warn(`shared pace ${this.file}: ${error.message}; starting unpaced`);
      return undefined;
    }
    if (loaded.problem !== undefined) {
      this.problem = loaded.problem;
      this.log.warn(
        `shared pace ${this.file}: ${loaded.problem}; starting unpaced, it is set aside after the run`,
      );
      return undefined;
    }
    const { pace } = loaded;
    if (pace === undefined) return undefined;
    const age = this.now().getTime() - Date.parse(pace.at);
    if (age < 0 || age > PACE_FRESH_MS) {
      this.log.debug(`shared pace ${this.file} is from ${pace.at}: too old to follow`);
      return undefined;
    }
    this.log.debug(
      `starting at the shared pace of ${pace.perSecond.toFixed(2)} requests/s, learned from a 429 at ${pace.at}`,
    );
    return pace.perSecond;
  }

  /** A 429 taught this run a rate (requests per second): kept to write when the run ends. */
  learn(perSecond: number): void {
    if (!Number.isFinite(perSecond) || perSecond <= 0) return;
    this.learned = { perSecond, at: this.now().toISOString() };
  }

  /** Writes what this run learned, if a 429 taught it anything, and sets aside a file that was unusable. Never throws. */
  async save(): Promise<void> {
    if (this.learned === undefined && this.problem === undefined) return;
    // A run asked to stop starts nothing new: the next run learns again, and sets aside what it cannot use.
    if (this.run.signal?.aborted === true) return;
    const untrusted = untrustedFolderReason(this.stateDir);
    if (untrusted !== undefined) {
      this.log.debug(`not recording the shared pace in ${this.stateDir}: ${untrusted}`);
      return;
    }
    const learned = this.learned;
    try {
      await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
      await withLock(
        this.lockFile,
        async () => {
          const loaded = await this.load();
          if (loaded.problem !== undefined) {
            const aside = `${this.file}.rejected-${this.now().toISOString().replace(/[:.]/g, '-')}`;
            await rename(this.file, aside);
            this.log.warn(`shared pace ${this.file}: ${loaded.problem}; kept aside as ${aside}`);
          }
          if (learned !== undefined) await atomicWrite(this.file, serialize(learned));
        },
        { waitMs: this.lockWaitMs, deadlineAt: this.run.endsAt, signal: this.run.signal },
      );
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTDIR') {
        // The state folder's path is not a folder: the queue names it in its own line, once.
        this.log.debug(`not recording the shared pace: ${this.stateDir} is not a folder`);
        return;
      }
      const why =
        error instanceof LockTimeoutError || error instanceof StateError
          ? error.message
          : (code ?? (error as Error).message);
      this.log.warn(`cannot update the shared pace ${this.file} (${why}); the uploads stand`);
    }
  }

  /** The pace on disk, and why it cannot be used (then it counts as none). */
  private async load(): Promise<{ pace?: Pace | undefined; problem?: string | undefined }> {
    const read = await readQueueText(this.file, MAX_PACE_BYTES);
    if (read === undefined) return {};
    if ('unusable' in read) return { problem: `not read (${read.unusable})` };
    let json: unknown;
    try {
      json = parseStrictJson(read.text);
    } catch (error) {
      return { problem: `corrupt (${(error as Error).message})` };
    }
    const pace = readPace(json);
    return pace === undefined ? { problem: `not a shared pace of version ${PACE_VERSION}` } : { pace };
  }
}

function serialize(pace: Pace): string {
  return `${JSON.stringify({ version: PACE_VERSION, perSecond: pace.perSecond, at: pace.at })}\n`;
}

/** The file's object, every field checked; undefined when it is not what incap-cert writes. */
function readPace(json: unknown): Pace | undefined {
  if (!isObject(json) || json.version !== PACE_VERSION) return undefined;
  const { perSecond, at } = json;
  if (typeof perSecond !== 'number' || !(perSecond >= MIN_PER_SECOND && perSecond <= MAX_PER_SECOND))
    return undefined;
  if (typeof at !== 'string' || at.length > 40 || Number.isNaN(Date.parse(at))) return undefined;
  return { perSecond, at };
}
