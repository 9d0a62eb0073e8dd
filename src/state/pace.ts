import { join } from 'node:path';
import type { Log } from '../log/logger.js';
import { type RunBounds, StateFile } from './state-file.js';

/**
 * The pace Imperva allowed, shared between runs: `pace.json` in the state folder holds the rate learned from the
 * last 429 (requests per second) and when that 429 came. When the ACME client renews every lineage in one run (an
 * ARI storm, `--force-renewal`), its hook runs follow one another within seconds: each starts at the pace the one
 * before learned instead of bursting into 429s again and learning it anew, and so does the timer's run that
 * delivers what they deferred (docs/operations.md, "Pacing").
 *
 * Honoured for 10 minutes after that 429 (someone else sharing the key may have stopped since; a new storm learns
 * again). Like the delivery record it is an aid, never a gate, kept by the one state-file cycle (src/state/state-file.ts):
 * one that cannot be trusted or parsed counts as none and is set aside when the run ends; it is written after the
 * uploads, and a failure to write it is a warning.
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
  private readonly store: StateFile<{ pace: Pace | undefined }>;
  /** What this run learned from its last 429. */
  private learned: Pace | undefined;

  constructor(
    stateDir: string,
    private readonly log: Log,
    private readonly now: () => Date = () => new Date(),
    /** The run's end and stop (RunContext.endsAt, signal): the lock wait ends by them, as the queue's does. */
    private readonly run: RunBounds = {},
    lockWaitMs = 15_000,
  ) {
    this.store = new StateFile<{ pace: Pace | undefined }>(
      {
        file: join(stateDir, 'pace.json'),
        label: 'shared pace',
        maxBytes: MAX_PACE_BYTES,
        version: PACE_VERSION,
        parse: (json) => {
          // A file written by a run that only set a bad one aside holds no pace.
          if (json.perSecond === undefined && json.at === undefined) return { value: { pace: undefined } };
          const pace = readPace(json);
          return pace === undefined
            ? { problem: `not a shared pace of version ${PACE_VERSION}` }
            : { value: { pace } };
        },
        serialize: ({ pace }) => (pace === undefined ? {} : { perSecond: pace.perSecond, at: pace.at }),
        empty: () => ({ pace: undefined }),
        failureNote: 'the uploads stand',
        unusableNote: 'starting unpaced, it is set aside after the run',
      },
      log,
      now,
      run,
      lockWaitMs,
    );
  }

  get file(): string {
    return this.store.file;
  }

  /** The pace to start from (requests per second): the shared one while it is fresh, else undefined. Never throws. */
  async start(): Promise<number | undefined> {
    const { pace } = await this.store.read();
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
    if (this.learned === undefined && this.store.unusable === undefined) return;
    // A run asked to stop starts nothing new: the next run learns again, and sets aside what it cannot use.
    if (this.run.signal?.aborted === true) return;
    const learned = this.learned;
    await this.store.change((doc) => {
      if (learned !== undefined) doc.pace = learned;
    });
  }
}

/** The file's fields (its version checked), every one checked; undefined when it is not what incap-cert writes. */
function readPace(json: Record<string, unknown>): Pace | undefined {
  const { perSecond, at } = json;
  if (typeof perSecond !== 'number' || !(perSecond >= MIN_PER_SECOND && perSecond <= MAX_PER_SECOND))
    return undefined;
  if (typeof at !== 'string' || at.length > 40 || Number.isNaN(Date.parse(at))) return undefined;
  return { perSecond, at };
}
