import { nothingToUpload, type HookPlan } from '../engine/plan.js';
import { reconcile } from '../engine/reconcile.js';
import { StateError } from '../model/errors.js';
import { emptyReport, type Report } from '../model/report.js';
import type { RunContext } from '../run/context.js';
import { Queue } from '../state/queue.js';
import type { QueueEntry } from '../state/schema.js';
import { firstByKey, siteKey } from '../util/by-key.js';

/**
 * Hook mode: the ACME client's environment named the certificate (see planHook); the map names the sites.
 *
 * When the ACME client renews every lineage in one run (an ARI storm, `--force-renewal`), the hooks follow one
 * another at the pace Imperva allows (src/state/pace.ts): a site the pace leaves no room for before the hook's
 * deadline (nothing sent, or nothing but 429 answered) is deferred to the timer's run, which delivers it — unless
 * it has been deferred for longer than the deferral limit (src/engine/site-outcome.ts), then it fails.
 */
export async function deploy(plan: HookPlan, ctx: RunContext): Promise<Report> {
  ctx.log.debug(
    `certificate from ${plan.source.client}: ${plan.source.files.cert}, key ${plan.source.files.key}`,
  );
  if (plan.wants.length === 0) {
    ctx.log.info(nothingToUpload(plan));
    return emptyReport(ctx.command);
  }
  const owed = firstByKey(await owedEntries(ctx), (entry) => siteKey(entry.siteId, entry.authType));
  const report = await reconcile(plan.wants, ctx, {
    compare: false,
    recordIntent: true,
    deferOnDeadline: 'throttled',
    unreachedSince: (siteId, keyType) => owed.get(siteKey(siteId, keyType))?.unreachedSince,
  });
  if (ctx.dryRun) return report;
  // The next hook of a storm starts at the pace this one learned.
  await ctx.pace?.save();
  const deferred = report.sites.filter((site) => site.action === 'deferred').length;
  if (deferred > 0) {
    ctx.log.info(
      `${deferred} site${deferred === 1 ? '' : 's'} deferred to the timer's run (incap-cert sync): ` +
        "Imperva's pace left no room for them before the hook's deadline",
    );
  }
  return report;
}

/** What the queue owes already: since when each site has been left unreached. Unreadable: nothing. */
async function owedEntries(ctx: RunContext): Promise<QueueEntry[]> {
  try {
    return await Queue.ofRun(ctx).entries();
  } catch (error) {
    if (!(error instanceof StateError)) throw error;
    return [];
  }
}
