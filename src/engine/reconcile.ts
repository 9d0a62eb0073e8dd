import { isCredentialsError } from '../imperva/errors.js';
import { refusalLines } from '../imperva/refusal.js';
import { emptyReport, type Report } from '../model/report.js';
import type { RunContext } from '../run/context.js';
import { Queue } from '../state/queue.js';
import { mapPool } from '../util/pool.js';
import { handOffFailures } from './failure-hand-off.js';
import { ImpervaView } from './held.js';
import { recordIntent, recordOutcome } from './owed.js';
import type { Want } from '../model/want.js';
import { prepareAll, where } from './prepare.js';
import { siteOutcome, type DeferralOptions } from './site-outcome.js';

export interface ReconcileOptions extends DeferralOptions {
  /** Ask Imperva what each site serves first, and upload only where it is not the wanted certificate (sync). */
  compare: boolean;
  /**
   * Record each site in the retry queue before its upload starts, so that a run killed at any instant leaves it for
   * sync (deploy and push: sync cannot find their certificates again by itself).
   */
  recordIntent: boolean;
  /** What Imperva holds, shared with the caller (sync asks it again after the uploads, to prune). */
  view?: ImpervaView | undefined;
  /** Upload even where the certificate does not cover every name mapped to the site (push --force). */
  force?: boolean | undefined;
}

/**
 * The one engine behind deploy, push and sync: what is wanted → (when asked) what Imperva serves → upload where
 * needed → settle (the queue, onFailure) → report. Per-site lines come out in the wants' order as soon as everything
 * before them is done; a failed site does not stop the others.
 */
export async function reconcile(
  wants: readonly Want[],
  ctx: RunContext,
  options: ReconcileOptions,
): Promise<Report> {
  const report = emptyReport(ctx.command);
  const ready = prepareAll(wants, ctx, report, options.force);
  if (ready.length === 0) return report;

  const queue = Queue.ofRun(ctx);
  let unrecorded = options.recordIntent && !ctx.dryRun ? await recordIntent(queue, ready) : undefined;

  const client = options.compare || !ctx.dryRun ? await ctx.client() : undefined;
  const view =
    options.compare && client !== undefined ? (options.view ?? new ImpervaView(client, ctx.log)) : undefined;
  const done = await mapPool(
    ready,
    ctx.config.concurrency,
    (want) => siteOutcome(want, client, view, ctx, options),
    (one) => one.report(),
  );
  report.sites.push(...done.map((one) => one.result));
  if (ctx.signal.aborted) report.interrupted = signalOf(ctx.signal);
  if (ctx.dryRun) return report;

  const failed = done.filter((one) => one.result.action === 'failed');
  const refused = failed.filter((one) => isCredentialsError(one.error));
  const recorded = await recordOutcome(queue, done, ctx);
  const queued = recorded.queued;
  // An intent that could not be written before the uploads is moot once the run's failures are queued (saying they
  // were not would send the operator after a problem that is not there); otherwise it still says the folder is unusable.
  unrecorded = recorded.unrecorded ?? (recorded.queued ? undefined : unrecorded);
  if (refused[0]?.error !== undefined) {
    // One line for all of them: every site after the first was not even tried (the client stops sending).
    ctx.log.error(
      `Imperva refused the API credentials: ${refused[0].error.message}; the key comes from ${ctx.config.api.keySource}; ` +
        `${refused.length} site${refused.length === 1 ? '' : 's'} ${queued ? 'queued for sync' : 'not delivered'}`,
    );
  }
  const refusals = failed.map((one) => ({ where: where(one.ready), error: one.error }));
  for (const line of refusalLines(refusals, queued)) ctx.log.error(line);
  if (unrecorded !== undefined) {
    ctx.log.error(
      `${unrecorded.message}; the uploads above stand, but ${failed.length > 0 ? 'failures were not queued' : 'nothing could be recorded'} for sync`,
    );
  }
  if (failed.length > 0 && ctx.config.onFailure !== undefined && report.interrupted === undefined) {
    await handOffFailures(ctx.config.onFailure, failed, ctx, queued);
  }
  return report;
}

function signalOf(signal: AbortSignal): NodeJS.Signals {
  const reason: unknown = signal.reason;
  return typeof reason === 'string' && /^SIG[A-Z]+$/.test(reason) ? (reason as NodeJS.Signals) : 'SIGTERM';
}
