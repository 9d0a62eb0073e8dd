import { renewalPathSample } from '../canary/metrics.js';
import { FROM_THIS_HOST, pathFindings } from '../canary/run.js';
import { checkAndKeep } from '../canary/timer.js';
import { refusePlaceholders } from '../config/placeholders.js';
import { anyFailed, findingLine } from '../model/finding.js';
import { emptyReport, type Report } from '../model/report.js';
import type { RunContext } from '../run/context.js';

export interface CanaryOptions {
  liveDir: string | undefined;
}

/**
 * Proves, for each mapped lineage renewed with http-01, that a challenge file placed where the ACME client puts it
 * is served through Imperva. Exit 0 only when every checked name passes (not-needed and unchecked do not count).
 */
export async function canary(options: CanaryOptions, ctx: RunContext): Promise<Report> {
  refusePlaceholders(ctx.config);
  // Kept as the timer's check is (status shows it; onFailure hears of a turn): a stopped run keeps nothing.
  const checks = await checkAndKeep(options.liveDir ?? ctx.config.liveDir, ctx);
  const findings = pathFindings(checks);
  for (const finding of findings) {
    if (finding.ok) ctx.log.info(findingLine(finding));
    else ctx.log.error(findingLine(finding));
  }
  if (checks.length === 0) ctx.log.info('canary: no mapped lineage to check');
  else if (checks.some((check) => check.verdict === 'pass')) ctx.log.info(FROM_THIS_HOST);
  return {
    ...emptyReport(ctx.command),
    unhealthy: anyFailed(findings),
    ...(ctx.signal.aborted ? { interrupted: 'SIGTERM' as const } : {}),
    ...(ctx.signal.aborted ? {} : { renewalPaths: renewalPathSample(checks, ctx.now()) }),
    data: {
      findings,
      paths: checks.map(({ lineage, name, verdict, advice }) => ({ lineage, name, verdict, advice })),
    },
  };
}
