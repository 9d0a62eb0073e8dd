import { findingLine } from '../model/finding.js';
import type { RenewalPathSample } from '../model/report.js';
import { tellOnFailure } from '../notify/on-failure.js';
import type { RunContext } from '../run/context.js';
import { renewalPathSample } from './metrics.js';
import { PathRecord, type KeptPath, type KeptPaths } from './record.js';
import { checkRenewalPaths, pathFindings, type PathCheck } from './run.js';

/** How old the last check may be before the timer's `sync` runs it again. */
export const CANARY_EVERY_MS = 20 * 60 * 60 * 1000;

/**
 * The timer's part of the canary: `sync` checks the renewal paths when the last check is more than 20 hours old,
 * unless config `canary` is false, and keeps the verdicts. A problem found is logged; it does not fail the sync
 * (the uploads are sync's job; `incap-cert canary` exits 1 for it). Returns the check for the metrics file.
 */
export async function canaryForTimer(
  liveDir: string,
  ctx: RunContext,
): Promise<RenewalPathSample | undefined> {
  // The uploads took the run's whole deadline: a check now would only report every name unreached.
  if (!ctx.config.canary.enabled || ctx.dryRun || ctx.signal.aborted || ctx.endsAt <= ctx.now().getTime()) {
    return undefined;
  }
  const record = new PathRecord(ctx.config.stateDir, ctx.log, ctx.now, ctx);
  const before = await record.read();
  const last = before.checkedAt === undefined ? undefined : Date.parse(before.checkedAt);
  if (last !== undefined && ctx.now().getTime() - last <= CANARY_EVERY_MS) return undefined;
  const checks = await checkAndKeep(liveDir, ctx, record, before);
  if (ctx.signal.aborted) return undefined;
  for (const finding of pathFindings(checks)) {
    // Silent when all is well: the timer's run speaks only of a path that would fail a renewal (-v shows the rest).
    if (finding.ok) ctx.log.debug(`canary: ${findingLine(finding)}`);
    else ctx.log.warn(`canary: ${findingLine(finding)}`);
  }
  return renewalPathSample(checks, ctx.now());
}

/**
 * Checks the renewal paths now, keeps the verdicts (unless the run was stopped half way: a partial check would
 * read as lineages gone) and runs onFailure for the names whose pass or failure turned.
 */
export async function checkAndKeep(
  liveDir: string,
  ctx: RunContext,
  record = new PathRecord(ctx.config.stateDir, ctx.log, ctx.now, ctx),
  before?: KeptPaths,
): Promise<PathCheck[]> {
  const previous = before ?? (await record.read());
  const checks = await checkRenewalPaths(liveDir, ctx);
  if (ctx.signal.aborted || ctx.dryRun) return checks;
  const kept = await record.record(checks, previous);
  await tellTurned(turned(previous, kept), ctx);
  return checks;
}

/** The names whose pass or failure differs from the last one known; a first check tells only of failures. */
export function turned(before: KeptPaths, after: KeptPaths): KeptPath[] {
  const known = new Map(before.paths.map((path) => [`${path.lineage} ${path.name}`, path.judged]));
  return after.paths.filter((path) => {
    const was = known.get(`${path.lineage} ${path.name}`);
    return path.judged !== undefined && path.judged !== was && (was !== undefined || path.judged === 'fail');
  });
}

/** onFailure gets the names that turned, failed or passing again, as `findings` (docs/canary.md). */
async function tellTurned(paths: readonly KeptPath[], ctx: RunContext): Promise<void> {
  const { onFailure } = ctx.config;
  if (paths.length === 0 || onFailure === undefined) return;
  const findings = paths.map(({ lineage, name, verdict, since, advice }) => ({
    kind: 'renewal-path' as const,
    lineage,
    name,
    verdict,
    since,
    advice,
  }));
  await tellOnFailure(onFailure, { sites: [], findings }, ctx);
}

/** For `status`: the last check's verdicts, one line each (a problem as a warning), and when it ran. */
export async function logKeptPaths(ctx: RunContext): Promise<void> {
  const kept = await new PathRecord(ctx.config.stateDir, ctx.log, ctx.now, ctx).read();
  if (kept.checkedAt === undefined) return;
  for (const path of kept.paths) {
    const what = path.name === '' ? `lineage ${path.lineage}` : `${path.name} (lineage ${path.lineage})`;
    const line = `renewal path of ${what}: ${path.verdict} since ${path.since} (checked ${kept.checkedAt})`;
    const bad = !['pass', 'not-needed', 'unchecked'].includes(path.verdict);
    if (bad) ctx.log.warn(`${line}${path.advice === null ? '' : `; fix: ${path.advice}`}`);
    else ctx.log.debug(line);
  }
}
