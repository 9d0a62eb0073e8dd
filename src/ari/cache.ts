/**
 * What the CA last said about each certificate's renewal window: `ari.json` in the state folder, one record per
 * certificate identifier, with when it may be asked again (its Retry-After) and the lineage state last reported
 * (the failure hook runs once per change of it).
 *
 * Kept under the rules of every state file (as src/state/delivery.ts): read only when the state folder and the file
 * can be trusted (no link, owned by root or us, writable by no one else, bounded in size); one that cannot be parsed
 * is set aside with a warning and counts as empty; written atomically under the queue's lock. It is an aid: a
 * failure to read or write it is a warning and never blocks an upload.
 */
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Log } from '../log/logger.js';
import { LockTimeoutError, StateError } from '../model/errors.js';
import { atomicWrite } from '../state/atomic-write.js';
import { withLock } from '../state/lock.js';
import { readQueueText } from '../state/queue-file.js';
import { isObject, parseStrictJson } from '../util/strict-json.js';
import { untrustedFolderReason } from '../util/trust.js';

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
  private readonly lockFile: string;

  constructor(
    readonly stateDir: string,
    private readonly log: Log,
    private readonly now: () => Date,
  ) {
    this.file = join(stateDir, 'ari.json');
    this.lockFile = join(stateDir, 'queue.lock');
  }

  async read(): Promise<AriState> {
    if (untrustedFolderReason(this.stateDir) !== undefined) return empty();
    try {
      const loaded = await this.load();
      if (loaded.problem !== undefined) this.log.warn(`ARI cache ${this.file}: ${loaded.problem}`);
      return loaded.state;
    } catch (error) {
      if (!(error instanceof StateError)) throw error;
      this.log.warn(error.message);
      return empty();
    }
  }

  /** Applies `fn` to what is on disk and writes it back. Never throws: a failure is a warning. */
  async change(fn: (state: AriState) => void): Promise<void> {
    const untrusted = untrustedFolderReason(this.stateDir);
    if (untrusted !== undefined) {
      this.log.debug(`not keeping the ARI cache in ${this.stateDir}: ${untrusted}`);
      return;
    }
    try {
      await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
      await withLock(
        this.lockFile,
        async () => {
          const loaded = await this.load();
          if (loaded.problem !== undefined) {
            const aside = `${this.file}.rejected-${this.now().toISOString().replace(/[:.]/g, '-')}`;
            await rename(this.file, aside);
            this.log.warn(`ARI cache ${this.file}: ${loaded.problem}; kept aside as ${aside}`);
          }
          fn(loaded.state);
          await atomicWrite(this.file, serialize(loaded.state));
        },
        { waitMs: 15_000 },
      );
    } catch (error) {
      const why =
        error instanceof LockTimeoutError || error instanceof StateError
          ? error.message
          : ((error as NodeJS.ErrnoException).code ?? (error as Error).message);
      this.log.warn(`cannot update the ARI cache ${this.file} (${why})`);
    }
  }

  private async load(): Promise<{ state: AriState; problem?: string | undefined }> {
    const read = await readQueueText(this.file, MAX_BYTES);
    if (read === undefined) return { state: empty() };
    if ('unusable' in read) return { state: empty(), problem: `not read (${read.unusable})` };
    let json: unknown;
    try {
      json = parseStrictJson(read.text);
    } catch (error) {
      return { state: empty(), problem: `corrupt (${(error as Error).message})` };
    }
    if (
      !isObject(json) ||
      json.version !== VERSION ||
      !Array.isArray(json.records) ||
      !isObject(json.states)
    ) {
      return { state: empty(), problem: `not an ARI cache of version ${VERSION}` };
    }
    const state = empty();
    for (const [index, item] of json.records.entries()) {
      const record = readRecord(item);
      if (record === undefined) return { state: empty(), problem: `record ${index} is not valid` };
      state.records.set(record.id, record);
    }
    for (const [lineage, word] of Object.entries(json.states)) {
      if (!isText(lineage, 255) || !isText(word, 40))
        return { state: empty(), problem: 'a state is not valid' };
      state.states.set(lineage, word);
    }
    return { state };
  }
}

function empty(): AriState {
  return { records: new Map(), states: new Map() };
}

function serialize(state: AriState): string {
  const body = {
    version: VERSION,
    records: [...state.records.values()],
    states: Object.fromEntries(state.states),
  };
  return `${JSON.stringify(body, null, 2)}\n`;
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
