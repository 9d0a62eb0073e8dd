import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { StateError } from '../model/errors.js';
import { isReport, type ExpirySample, type StaleExpiry } from '../model/report.js';
import type { RunContext } from '../run/context.js';
import { Queue } from '../state/queue.js';
import { writeMetrics, type MetricsUpdate } from './textfile.js';

/** The commands whose runs the metrics file reports. */
const MEASURED = new Set(['deploy', 'push', 'sync', 'status', 'verify', 'remove', 'canary']);

/**
 * After a command that has a metrics file to write (--metrics-file, config metricsFile): what it learned, merged
 * into what earlier commands wrote. A file that cannot be written is a warning: the run's outcome stands.
 */
export async function recordMetrics(ctx: RunContext, outcome: unknown, exitCode: number): Promise<void> {
  // A dry run changes nothing, and says nothing about what the sites serve: the metrics stay as they were.
  if (ctx.metricsFile === undefined || ctx.dryRun || !MEASURED.has(ctx.command)) return;
  const report = isReport(outcome) ? outcome : undefined;
  const expiries: ExpirySample[] = [...(report?.expiries ?? [])];
  const forget: StaleExpiry[] = [...(report?.forget ?? [])];
  for (const { siteId, keyType, action, notAfter } of report?.sites ?? []) {
    if (action !== 'uploaded' && action !== 'current') continue;
    // Imperva took this certificate, or told this run it holds it: that is what it holds now.
    for (const source of ['local', 'imperva'] as const)
      expiries.push({ siteId, keyType, source, notAfter: new Date(notAfter) });
    // What the edge was seen serving before this upload is the certificate it replaced: gone, unless this run
    // probed the edge again (sync --verify; its sample is among the expiries, set after the forgetting).
    if (action === 'uploaded') forget.push({ siteId, keyType, source: 'edge' });
  }
  // A hook run for a lineage mapped to no site had nothing to deliver: it records that it ran, but leaves the
  // success of the last run that did (an unmapped lineage after a failed one in the same `certbot renew` must not
  // hide the failure).
  const nothingToDo = ctx.command === 'deploy' && report !== undefined && report.sites.length === 0;
  const update: MetricsUpdate = {
    command: ctx.command,
    ...(nothingToDo ? {} : { success: exitCode === 0 }),
    at: ctx.now(),
    expiries,
    ...(report?.replaceSources === undefined ? {} : { replaceSources: report.replaceSources }),
    forget,
    // Every measured command loaded the config: a site it no longer maps loses its samples.
    mappedSites: new Set([...ctx.config.sites.values()].flat()),
    ...(report?.lineages === undefined ? {} : { lineages: report.lineages }),
    ...(report?.apiKeyExpiry === undefined ? {} : { apiKeyExpiry: report.apiKeyExpiry }),
    ...(report?.renewalPaths === undefined ? {} : { renewalPaths: report.renewalPaths }),
  };
  try {
    update.queueEntries = (await new Queue(ctx.config.stateDir, ctx.log, ctx.now).entries()).length;
  } catch (error) {
    if (!(error instanceof StateError)) throw error;
  }
  try {
    await mkdir(dirname(ctx.metricsFile), { recursive: true, mode: 0o755 });
    // Asked to stop while another command holds the file's lock: this run's samples are left out, not waited for.
    await writeMetrics(ctx.metricsFile, update, { deadlineAt: ctx.endsAt, signal: ctx.signal });
  } catch (error) {
    ctx.log.warn(`cannot write the metrics file: ${(error as Error).message}`);
  }
}
