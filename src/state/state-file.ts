import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as v from 'valibot';
import type { Log } from '../log/logger.js';
import { LockTimeoutError, StateError } from '../model/errors.js';
import { isObject, parseStrictJson } from '../util/strict-json.js';
import { untrustedFolderReason } from '../util/trust.js';
import { atomicWrite, removeTempFiles } from './atomic-write.js';
import { withLock } from './lock.js';
import { readQueueText } from './queue-file.js';

/**
 * One state file that is an aid, never a gate (the delivery record, the ARI cache): the one cycle every such file
 * goes through, written once.
 *
 * - Read only when the state folder and the file can be trusted (no link, no FIFO, owned by root or us, writable by
 *   no one else, at most `maxBytes`); one that cannot be trusted or parsed counts as empty, with a warning.
 * - Changed under the queue's lock, like every write in the state folder: remove the temp files killed writes left,
 *   read, set aside what cannot be used (as `FILE.rejected-TIME`), change, write atomically. The wait for the lock ends by the run's deadline and at once on
 *   its stop signal, so that a hook never outlives Certbot's patience for the sake of an aid.
 * - Never throws for the file's sake: a failure is one warning line, and the run goes on (an upload is never
 *   blocked by it).
 */
export interface StateFileSpec<T> {
  file: string;
  /** What the file is, for messages: "delivery record", "ARI cache". */
  label: string;
  maxBytes: number;
  /** The file's version: a document of another version is set aside. */
  version: number;
  /** The document's fields (version checked already): the value, or why it cannot be used. */
  parse: (json: Record<string, unknown>) => { value: T } | { problem: string };
  /** The document's fields; `version` is added first. */
  serialize: (value: T) => Record<string, unknown>;
  empty: () => T;
  /** Said after a failure to write, when something stands all the same ("the uploads stand"). */
  failureNote?: string | undefined;
  /**
   * Whether a change may make the state folder (default true). A cache that read-only commands keep (status and
   * check keep the ARI cache) does not: run by hand before anything is installed, they would make
   * /var/lib/incap-cert, or warn that they cannot.
   */
  makesFolder?: boolean | undefined;
  /** Said when the file read cannot be used (default: "the next change keeps it aside"). */
  unusableNote?: string | undefined;
}

/** The run's end and stop (RunContext.endsAt, signal): every lock wait ends by them. */
export interface RunBounds {
  endsAt?: number | undefined;
  signal?: AbortSignal | undefined;
}

export class StateFile<T> {
  readonly file: string;
  readonly stateDir: string;
  private readonly lockFile: string;
  /** Why the file last read cannot be used, if it cannot: the next change sets it aside. */
  unusable: string | undefined;

  constructor(
    private readonly spec: StateFileSpec<T>,
    private readonly log: Log,
    private readonly now: () => Date,
    private readonly run: RunBounds = {},
    private readonly lockWaitMs = 15_000,
  ) {
    this.file = spec.file;
    this.stateDir = dirname(spec.file);
    this.lockFile = join(this.stateDir, 'queue.lock');
  }

  /** What the file holds; empty when there is none or it cannot be used. */
  async read(): Promise<T> {
    const untrusted = untrustedFolderReason(this.stateDir);
    // The retry queue says so, once: a state folder others could write is not read for anything.
    if (untrusted !== undefined) {
      this.log.debug(`not reading the ${this.spec.label} in ${this.stateDir}: ${untrusted}`);
      return this.spec.empty();
    }
    try {
      const loaded = await this.load();
      this.unusable = loaded.problem;
      if (loaded.problem !== undefined) {
        const note = this.spec.unusableNote ?? 'the next change keeps it aside';
        this.log.warn(`${this.spec.label} ${this.file}: ${loaded.problem}; ${note}`);
      }
      return loaded.value;
    } catch (error) {
      if (!(error instanceof StateError)) throw error;
      this.log.warn(error.message);
      return this.spec.empty();
    }
  }

  /** Applies `fn` to what is on disk and writes it back. Never throws: a failure is a warning. */
  async change(fn: (value: T) => void): Promise<void> {
    const { label } = this.spec;
    const untrusted = untrustedFolderReason(this.stateDir);
    if (untrusted !== undefined) {
      this.log.debug(`not writing the ${label} in ${this.stateDir}: ${untrusted}`);
      return;
    }
    if (this.spec.makesFolder === false && !existsSync(this.stateDir)) {
      this.log.debug(`not writing the ${label}: there is no state folder ${this.stateDir} yet`);
      return;
    }
    try {
      await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
      await withLock(
        this.lockFile,
        async () => {
          // What killed writes left: every write in the state folder holds this lock (as Queue.change does).
          await removeTempFiles(this.stateDir);
          const loaded = await this.load();
          if (loaded.problem !== undefined) {
            const aside = `${this.file}.rejected-${this.now().toISOString().replace(/[:.]/g, '-')}`;
            await rename(this.file, aside);
            this.log.warn(`${label} ${this.file}: ${loaded.problem}; kept aside as ${aside}`);
          }
          fn(loaded.value);
          const body = { version: this.spec.version, ...this.spec.serialize(loaded.value) };
          await atomicWrite(this.file, `${JSON.stringify(body, null, 2)}\n`);
        },
        {
          waitMs: this.lockWaitMs,
          deadlineAt: this.run.endsAt,
          signal: this.run.signal,
          setAside: (message) => this.log.warn(message),
        },
      );
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' || code === 'ENOTDIR') {
        // The state folder's path is not a folder: the queue names it in its own line, once.
        this.log.debug(`not writing the ${label}: ${this.stateDir} is not a folder`);
        return;
      }
      const why =
        error instanceof LockTimeoutError || error instanceof StateError
          ? error.message
          : (code ?? (error as Error).message);
      const note = this.spec.failureNote === undefined ? '' : `; ${this.spec.failureNote}`;
      this.log.warn(`cannot update the ${label} ${this.file} (${why})${note}`);
    }
  }

  /** The file as it is on disk, and why it cannot be used (then it is read as empty). */
  private async load(): Promise<{ value: T; problem?: string | undefined }> {
    const { label, version } = this.spec;
    const read = await readQueueText(this.file, this.spec.maxBytes);
    if (read === undefined) return { value: this.spec.empty() };
    if ('unusable' in read) return { value: this.spec.empty(), problem: `not read (${read.unusable})` };
    let json: unknown;
    try {
      json = parseStrictJson(read.text);
    } catch (error) {
      return { value: this.spec.empty(), problem: `corrupt (${(error as Error).message})` };
    }
    if (!isObject(json) || json.version !== version) {
      return { value: this.spec.empty(), problem: `not version ${version} of the ${label}` };
    }
    const parsed = this.spec.parse(json);
    if ('problem' in parsed) return { value: this.spec.empty(), problem: parsed.problem };
    return { value: parsed.value };
  }
}

/** A time in a state file: what Date.parse reads, as toISOString writes it. */
export const stateTime = v.pipe(
  v.string(),
  v.maxLength(40),
  v.check((text) => !Number.isNaN(Date.parse(text))),
);

/** Where a record failed its schema, for the warning: the field's path ("names.2"), or "the record". */
export function issueAt(issues: readonly v.BaseIssue<unknown>[]): string {
  const first = issues[0];
  return (first === undefined ? undefined : v.getDotPath(first)) ?? 'the record';
}
