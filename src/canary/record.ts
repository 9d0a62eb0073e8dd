/**
 * The canary's verdicts, kept in the state folder (`renewal-paths.json`) so that `sync` runs the check at most once
 * in 20 hours and `status` shows the last verdicts. Under the state folder's rules, as src/state/delivery.ts: read
 * only from a trusted folder, bounded, strict JSON; one that cannot be used is set aside with a warning and counts as
 * empty; written atomically under the queue's lock; never a gate for an upload.
 */
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { hasControlCharacter } from '../config/schema.js';
import type { Log } from '../log/logger.js';
import { LockTimeoutError, StateError } from '../model/errors.js';
import { atomicWrite } from '../state/atomic-write.js';
import { withLock } from '../state/lock.js';
import { readQueueText } from '../state/queue-file.js';
import { isObject, parseStrictJson } from '../util/strict-json.js';
import { untrustedFolderReason } from '../util/trust.js';
import type { PathCheck, PathVerdict } from './run.js';

export interface KeptPath {
  lineage: string;
  name: string;
  verdict: PathVerdict;
  /** Since when this verdict has held (ISO time). */
  since: string;
  advice: string | null;
  /**
   * The last pass or failure known for the name (a run that could not check it keeps the one before): onFailure
   * runs when it turns, not on every check.
   */
  judged?: 'pass' | 'fail';
}

export interface KeptPaths {
  /** When the last check ran (ISO time); undefined: never. */
  checkedAt: string | undefined;
  paths: KeptPath[];
}

const VERSION = 1;
const MAX_BYTES = 4 * 1024 * 1024;
const VERDICTS: ReadonlySet<string> = new Set([
  'pass',
  'blocked',
  'redirected',
  'not-found',
  'unreachable',
  'not-needed',
  'cannot-pass',
  'unchecked',
]);

export class PathRecord {
  readonly file: string;

  constructor(
    readonly stateDir: string,
    private readonly log: Log,
    private readonly now: () => Date,
    /** The run's end and stop (RunContext.endsAt, signal): the lock wait ends by them, as the queue's does. */
    private readonly run: { endsAt: number; signal: AbortSignal },
  ) {
    this.file = join(stateDir, 'renewal-paths.json');
  }

  async read(): Promise<KeptPaths> {
    if (untrustedFolderReason(this.stateDir) !== undefined) return { checkedAt: undefined, paths: [] };
    const loaded = await this.load();
    if (loaded.problem !== undefined) this.log.warn(`renewal-path record ${this.file}: ${loaded.problem}`);
    return loaded.kept;
  }

  /** Keeps this run's verdicts; a verdict unchanged keeps its `since`. Returns what was kept. Never throws. */
  async record(checks: readonly PathCheck[], before: KeptPaths): Promise<KeptPaths> {
    const at = this.now().toISOString();
    const previous = new Map(before.paths.map((path) => [`${path.lineage} ${path.name}`, path]));
    const kept: KeptPaths = {
      checkedAt: at,
      paths: checks.map((check) => {
        const old = previous.get(`${check.lineage} ${check.name}`);
        const since = old !== undefined && old.verdict === check.verdict ? old.since : at;
        const judged = judgedOf(check.verdict) ?? old?.judged;
        return {
          lineage: check.lineage,
          name: check.name,
          verdict: check.verdict,
          since,
          advice: check.advice,
          ...(judged === undefined ? {} : { judged }),
        };
      }),
    };
    if (untrustedFolderReason(this.stateDir) !== undefined) return kept;
    try {
      await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
      await withLock(
        join(this.stateDir, 'queue.lock'),
        async () => {
          const loaded = await this.load();
          if (loaded.problem !== undefined) {
            const aside = `${this.file}.rejected-${at.replace(/[:.]/g, '-')}`;
            await rename(this.file, aside);
            this.log.warn(`renewal-path record ${this.file}: ${loaded.problem}; kept aside as ${aside}`);
          }
          await atomicWrite(this.file, `${JSON.stringify({ version: VERSION, ...kept }, null, 2)}\n`);
        },
        { deadlineAt: this.run.endsAt, signal: this.run.signal },
      );
    } catch (error) {
      const why =
        error instanceof LockTimeoutError || error instanceof StateError
          ? error.message
          : ((error as NodeJS.ErrnoException).code ?? (error as Error).message);
      this.log.warn(`cannot update the renewal-path record ${this.file} (${why})`);
    }
    return kept;
  }

  private async load(): Promise<{ kept: KeptPaths; problem?: string }> {
    const empty: KeptPaths = { checkedAt: undefined, paths: [] };
    const read = await readQueueText(this.file, MAX_BYTES);
    if (read === undefined) return { kept: empty };
    if ('unusable' in read) return { kept: empty, problem: `not read (${read.unusable})` };
    let json: unknown;
    try {
      json = parseStrictJson(read.text);
    } catch (error) {
      return { kept: empty, problem: `corrupt (${(error as Error).message})` };
    }
    if (
      !isObject(json) ||
      json.version !== VERSION ||
      !Array.isArray(json.paths) ||
      !isTime(json.checkedAt)
    ) {
      return { kept: empty, problem: `not a renewal-path record of version ${VERSION}` };
    }
    const paths: KeptPath[] = [];
    for (const item of json.paths) {
      if (!isObject(item)) return { kept: empty, problem: 'an entry is not valid' };
      const { lineage, name, verdict, since, advice, judged } = item;
      if (
        !isLineage(lineage) ||
        !(name === '' || isWord(name)) ||
        typeof verdict !== 'string' ||
        !VERDICTS.has(verdict) ||
        !isTime(since) ||
        !(advice === null || (typeof advice === 'string' && advice.length <= 500)) ||
        !(judged === undefined || judged === 'pass' || judged === 'fail')
      ) {
        return { kept: empty, problem: 'an entry is not valid' };
      }
      paths.push({
        lineage,
        name: name,
        verdict: verdict as PathVerdict,
        since,
        advice,
        ...(judged === undefined ? {} : { judged }),
      });
    }
    return { kept: { checkedAt: json.checkedAt, paths } };
  }
}

/** A Certbot lineage's name, or another client's certificate file (as src/ari/ names them). */
const isLineage = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= 4096 && !hasControlCharacter(value);
const isWord = (value: unknown): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= 253 && /^[A-Za-z0-9*._-]+$/.test(value);
const isTime = (value: unknown): value is string =>
  typeof value === 'string' && value.length <= 40 && !Number.isNaN(Date.parse(value));

/** pass, a failure (what fails the check), or neither (not-needed, unchecked: nothing was proven either way). */
export function judgedOf(verdict: PathVerdict): 'pass' | 'fail' | undefined {
  if (verdict === 'pass') return 'pass';
  return verdict === 'not-needed' || verdict === 'unchecked' ? undefined : 'fail';
}
