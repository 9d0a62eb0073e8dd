import { findingLine } from '../model/finding.js';
import type { RunContext } from '../run/context.js';
import { PathRecord } from './record.js';
import { checkRenewalPaths, pathFindings } from './run.js';

/** How old the last check may be before the timer's `sync` runs it again. */
export const CANARY_EVERY_MS = 20 * 60 * 60 * 1000;

/**
 * The timer's part of the canary: `sync` checks the renewal paths when the last check is more than 20 hours old,
 * unless config `canary` is false, and keeps the verdicts. A problem found is logged; it does not fail the sync
 * (the uploads are sync's job; `incap-cert canary` exits 1 for it).
 */
export async function canaryForTimer(liveDir: string, ctx: RunContext): Promise<void> {
  if (!ctx.config.canary.enabled || ctx.dryRun || ctx.signal.aborted) return;
  const record = new PathRecord(ctx.config.stateDir, ctx.log, ctx.now, ctx);
  const before = await record.read();
  const last = before.checkedAt === undefined ? undefined : Date.parse(before.checkedAt);
  if (last !== undefined && ctx.now().getTime() - last <= CANARY_EVERY_MS) return;
  const checks = await checkRenewalPaths(liveDir, ctx);
  if (ctx.signal.aborted) return;
  await record.record(checks, before);
  for (const finding of pathFindings(checks)) {
    // Silent when all is well: the timer's run speaks only of a path that would fail a renewal (-v shows the rest).
    if (finding.ok) ctx.log.debug(`canary: ${findingLine(finding)}`);
    else ctx.log.warn(`canary: ${findingLine(finding)}`);
  }
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
