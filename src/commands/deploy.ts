import { nothingToUpload, type HookPlan } from '../engine/plan.js';
import { reconcile } from '../engine/reconcile.js';
import { emptyReport, type Report } from '../model/report.js';
import type { RunContext } from '../run/context.js';

/** Hook mode: the ACME client's environment named the certificate (see planHook); the map names the sites. */
export async function deploy(plan: HookPlan, ctx: RunContext): Promise<Report> {
  ctx.log.debug(
    `certificate from ${plan.source.client}: ${plan.source.files.cert}, key ${plan.source.files.key}`,
  );
  if (plan.wants.length === 0) {
    ctx.log.info(nothingToUpload(plan));
    return emptyReport(ctx.command);
  }
  const report = await reconcile(plan.wants, ctx, { compare: false, recordIntent: true });
  // The next hook of a storm starts at the pace this one learned (src/state/pace.ts).
  if (!ctx.dryRun) await ctx.pace?.save();
  return report;
}
