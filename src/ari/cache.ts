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
import { StateFile, type RunBounds } from '../state/state-file.js';
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

const isTime = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= 40 && !Number.isNaN(Date.parse(value));
const isText = (value: unknown, max: number): value is string =>
  typeof value === 'string' &&
  value.length <= max &&
  ![...value].some((char) => char < ' ' || char === '\u007f');

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
        serialize: (state) => ({
          records: [...state.records.values()],
          states: Object.fromEntries(state.states),
        }),
        empty,
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
    const record = readRecord(item);
    if (record === undefined) return { problem: `record ${index} is not valid` };
    state.records.set(record.id, record);
  }
  for (const [lineage, word] of Object.entries(json.states)) {
    if (!isText(lineage, 255) || !isText(word, 40)) return { problem: 'a state is not valid' };
    state.states.set(lineage, word);
  }
  return { value: state };
}

function readRecord(item: unknown): AriRecord | undefined {
  if (!isObject(item)) return undefined;
  const { id, lineage, start, end, firstStart, explanationUrl, nextAt, problem } = item;
  if (typeof id !== 'string' || !/^[A-Za-z0-9_-]{1,200}\.[A-Za-z0-9_-]{1,60}$/.test(id)) return undefined;
  if (!isText(lineage, 255) || !isTime(nextAt)) return undefined;
  for (const time of [start, end, firstStart]) if (time !== undefined && !isTime(time)) return undefined;
  if (explanationUrl !== undefined && !isText(explanationUrl, 2048)) return undefined;
  if (problem !== undefined && !isText(problem, 500)) return undefined;
  return {
    id,
    lineage,
    nextAt,
    ...(isTime(start) ? { start } : {}),
    ...(isTime(end) ? { end } : {}),
    ...(isTime(firstStart) ? { firstStart } : {}),
    ...(explanationUrl === undefined ? {} : { explanationUrl }),
    ...(problem === undefined ? {} : { problem }),
  };
}
