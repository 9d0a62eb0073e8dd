/**
 * The canary's verdicts, kept in the state folder (`renewal-paths.json`) so that `sync` runs the check at most once
 * in 20 hours and `status` shows the last verdicts. Kept under the rules of every state file
 * (src/state/state-file.ts): read only from a trusted folder, bounded, strict JSON; one that cannot be used is set
 * aside with a warning and counts as empty; written atomically under the queue's lock; never a gate for an upload.
 */
import { join } from 'node:path';
import * as v from 'valibot';
import { hasControlCharacter } from '../config/schema.js';
import type { Log } from '../log/logger.js';
import { issueAt, StateFile, stateTime, type RunBounds } from '../state/state-file.js';
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
  judged?: 'pass' | 'fail' | undefined;
}

export interface KeptPaths {
  /** When the last check ran (ISO time); undefined: never. */
  checkedAt: string | undefined;
  paths: KeptPath[];
}

const VERSION = 1;
const MAX_BYTES = 4 * 1024 * 1024;
const VERDICTS = [
  'pass',
  'blocked',
  'redirected',
  'not-found',
  'unreachable',
  'not-needed',
  'cannot-pass',
  'unchecked',
] as const satisfies readonly PathVerdict[];

/** One name's verdict, every field what incap-cert writes (fields it does not know are left out). */
const PathSchema = v.object({
  // A Certbot lineage's name, or another client's certificate file (as src/ari/ names them).
  lineage: v.pipe(
    v.string(),
    v.minLength(1),
    v.maxLength(4096),
    v.check((text) => !hasControlCharacter(text)),
  ),
  name: v.union([v.literal(''), v.pipe(v.string(), v.maxLength(253), v.regex(/^[A-Za-z0-9*._-]+$/))]),
  verdict: v.picklist(VERDICTS),
  since: stateTime,
  // A sentence that may name the lineage's web root, a path (up to 4096): at 500, a deep web root's verdict was
  // never kept.
  advice: v.nullable(v.pipe(v.string(), v.maxLength(5000))),
  judged: v.optional(v.picklist(['pass', 'fail'])),
});

export class PathRecord {
  readonly file: string;
  private readonly state: StateFile<KeptPaths>;

  constructor(
    readonly stateDir: string,
    log: Log,
    private readonly now: () => Date,
    /** The run's end and stop (RunContext.endsAt, signal): the lock wait ends by them, as the queue's does. */
    run: RunBounds,
  ) {
    this.file = join(stateDir, 'renewal-paths.json');
    this.state = new StateFile(
      {
        file: this.file,
        label: 'renewal-path record',
        maxBytes: MAX_BYTES,
        version: VERSION,
        parse: parsePaths,
        // Only what the reader accepts is written (a lineage whose name it refuses is not kept), so that one odd
        // folder name cannot set the whole record aside on every run.
        serialize: ({ checkedAt, paths }) => ({
          checkedAt,
          paths: paths.filter((path) => v.is(PathSchema, path)),
        }),
        empty: () => ({ checkedAt: undefined, paths: [] }),
      },
      log,
      now,
      run,
    );
  }

  /** The last check's verdicts; none when there is no record or it cannot be used. */
  read(): Promise<KeptPaths> {
    return this.state.read();
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
    // This check replaces the last one whole.
    await this.state.change((onDisk) => Object.assign(onDisk, kept));
    return kept;
  }
}

function parsePaths(json: Record<string, unknown>): { value: KeptPaths } | { problem: string } {
  const checkedAt = v.safeParse(stateTime, json.checkedAt);
  if (!checkedAt.success || !Array.isArray(json.paths))
    return { problem: 'it holds no check time and paths' };
  const paths: KeptPath[] = [];
  for (const [index, item] of json.paths.entries()) {
    const read = v.safeParse(PathSchema, item);
    if (!read.success) return { problem: `path ${index} is not valid (${issueAt(read.issues)})` };
    paths.push(read.output);
  }
  return { value: { checkedAt: checkedAt.output, paths } };
}

/** pass, a failure (what fails the check), or neither (not-needed, unchecked: nothing was proven either way). */
export function judgedOf(verdict: PathVerdict): 'pass' | 'fail' | undefined {
  if (verdict === 'pass') return 'pass';
  return verdict === 'not-needed' || verdict === 'unchecked' ? undefined : 'fail';
}
