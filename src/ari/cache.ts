/**
 * What the CA last said about each certificate's renewal window: `ari.json` in the state folder, one record per
 * certificate identifier, with when it may be asked again (its Retry-After) and the lineage state last reported
 * (the failure hook runs once per change of it).
 *
 * Kept under the rules of every state file (src/state/state-file.ts): read only when the state folder and the file
 * can be trusted (no link, owned by root or us, writable by no one else, bounded in size); one that cannot be parsed
 * is set aside with a warning and counts as empty; written atomically under the queue's lock, a wait that ends by
 * the run's deadline and at its stop. It is an aid: a failure to read or write it is a warning and never blocks an
 * upload.
 */
import { join } from 'node:path';
import type { Log } from '../log/logger.js';
import * as v from 'valibot';
import { issueAt, StateFile, stateTime, type RunBounds } from '../state/state-file.js';
import { isObject } from '../util/strict-json.js';

export interface AriRecord {
  /** The certificate identifier (src/ari/identifier.ts). */
  id: string;
  lineage: string;
  /** The window the CA gives now, and the first it gave for this certificate (ISO times); absent: none known. */
  start?: string | undefined;
  end?: string | undefined;
  firstStart?: string | undefined;
  explanationUrl?: string | undefined;
  /** Not to be asked before this (ISO time): the CA's Retry-After, or the pause after a failure. */
  nextAt: string;
  /** Why the last question got no window, when it got none. */
  problem?: string | undefined;
}

export interface AriState {
  records: Map<string, AriRecord>;
  /** The lineage state last reported, by lineage name. */
  states: Map<string, string>;
}

const VERSION = 1;
const MAX_BYTES = 4 * 1024 * 1024;
/**
 * A lineage is a Certbot folder's name, or, for the other clients, the certificate file's path (src/ari/lineages.ts):
 * as long as a path may be (PATH_MAX). At 255, a lineage under a deep folder was never kept, and onFailure was
 * called for its unchanged state on every run.
 */
const LINEAGE = 4096;

/** Text of at most `max` characters with no control character (it reaches the log and the failure hook). */
const text = (max: number) =>
  v.pipe(
    v.string(),
    v.maxLength(max),
    v.check((value) => ![...value].some((char) => char < ' ' || char === '\u007f')),
  );

/** One record, every field what incap-cert writes (fields it does not know are left out). */
const RecordSchema = v.object({
  id: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,200}\.[A-Za-z0-9_-]{1,60}$/)),
  lineage: text(LINEAGE),
  start: v.optional(stateTime),
  end: v.optional(stateTime),
  firstStart: v.optional(stateTime),
  explanationUrl: v.optional(text(2048)),
  nextAt: stateTime,
  problem: v.optional(text(500)),
});

export class AriCache {
  readonly file: string;
  private readonly state: StateFile<AriState>;

  constructor(
    readonly stateDir: string,
    log: Log,
    now: () => Date,
    /** The run's end and stop (RunContext.endsAt, signal): the lock wait ends by them. */
    run: RunBounds = {},
  ) {
    this.file = join(stateDir, 'ari.json');
    this.state = new StateFile(
      {
        file: this.file,
        label: 'ARI cache',
        maxBytes: MAX_BYTES,
        version: VERSION,
        parse: parseState,
        // Only what the reader accepts is written: one lineage whose folder name the reader refuses (a control
        // character) would otherwise set the whole cache aside on every run. Such a lineage is simply not cached.
        serialize: (state) => ({
          records: [...state.records.values()].filter((record) => v.is(RecordSchema, record)),
          states: Object.fromEntries(
            [...state.states].filter(
              ([lineage, word]) => v.is(text(LINEAGE), lineage) && v.is(text(40), word),
            ),
          ),
        }),
        empty,
        makesFolder: false,
      },
      log,
      now,
      run,
    );
  }

  read(): Promise<AriState> {
    return this.state.read();
  }

  /** Applies `fn` to what is on disk and writes it back. Never throws: a failure is a warning. */
  change(fn: (state: AriState) => void): Promise<void> {
    return this.state.change(fn);
  }
}

function empty(): AriState {
  return { records: new Map(), states: new Map() };
}

function parseState(json: Record<string, unknown>): { value: AriState } | { problem: string } {
  if (!Array.isArray(json.records) || !isObject(json.states))
    return { problem: 'it holds no records and states' };
  const state = empty();
  for (const [index, item] of json.records.entries()) {
    const read = v.safeParse(RecordSchema, item);
    if (!read.success) return { problem: `record ${index} is not valid (${issueAt(read.issues)})` };
    const record: AriRecord = read.output;
    state.records.set(record.id, record);
  }
  const states = v.safeParse(v.record(text(LINEAGE), text(40)), json.states);
  if (!states.success) return { problem: 'a state is not valid' };
  for (const [lineage, word] of Object.entries(states.output)) state.states.set(lineage, word);
  return { value: state };
}
