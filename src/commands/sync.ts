import { lineageFiles, readChain, type CertificateFiles } from '../certificate/read.js';
import { planTargets, type Want } from '../engine/plan.js';
import { reconcile } from '../engine/reconcile.js';
import { CertificateError, ExitCode, StateError } from '../errors.js';
import { emptyReport, type Report } from '../report.js';
import type { RunContext } from '../run/context.js';
import { localWants, warnUncovered } from '../sources/local.js';
import { Queue, type QueueEntry } from '../state/queue.js';

export interface SyncOptions {
  /** Certbot's live folder (default: the config's liveDir). */
  liveDir: string | undefined;
}

/**
 * Reconciles what Imperva serves with what is on disk. For every mapped site and key type: the newest certificate
 * that covers it in the live folder or another ACME client's folder (config sources), else the certificate a queued
 * entry names. Imperva is asked what the site serves and the certificate uploaded only where that is not it; the
 * queue then holds exactly what is still owed.
 * Works from the source of truth, so a wiped stateDir loses nothing and a second sync uploads nothing.
 */
export async function sync(options: SyncOptions, ctx: RunContext): Promise<Report> {
  const { config, log } = ctx;
  const liveDir = options.liveDir ?? config.liveDir;
  const queue = new Queue(config.stateDir, log, ctx.now, (text) => ctx.redactor.redact(text));
  let entries: QueueEntry[] = [];
  try {
    entries = await queue.entries();
  } catch (error) {
    if (!(error instanceof StateError) || error.untrusted) throw error;
    log.error(`${error.message}; syncing from ${liveDir} only`);
  }

  const report = emptyReport(ctx.command);
  const wants = localWants(liveDir, config, log);
  const unmapped: QueueEntry[] = [];
  for (const entry of entries) {
    if (wants.some((want) => want.siteId === entry.siteId && want.chain.keyType === entry.authType)) continue;
    const want = queuedWant(entry, ctx, report);
    if (want === 'unmapped') unmapped.push(entry);
    else if (want !== undefined) wants.push(want);
  }
  if (unmapped.length > 0) await dropUnmapped(queue, unmapped, ctx);
  report.unhealthy = warnUncovered(liveDir, config, wants, log);
  if (wants.length === 0) {
    log.info('sync: no mapped certificate and nothing queued; nothing to do');
    return report;
  }

  const outcome = await reconcile(wants, ctx, { compare: true, recordIntent: false });
  outcome.problems.unshift(...report.problems);
  outcome.unhealthy ||= report.unhealthy;
  if (!ctx.dryRun) {
    const count = (action: string) => outcome.sites.filter((site) => site.action === action).length;
    const failed = count('failed');
    log.info(
      `sync: ${count('current')} current, ${count('uploaded')} uploaded, ${failed} failed` +
        (failed > 0 ? ` (queued in ${config.stateDir})` : ''),
    );
  }
  return outcome;
}

/**
 * A queued entry's certificate, read again (a lineage's newest files win). Only for a site the map still assigns to
 * one of the entry's names, or one that `push --site-id` named: an operator who fixed a wrong id in the map must
 * not see the old id uploaded to.
 */
function queuedWant(entry: QueueEntry, ctx: RunContext, report: Report): Want | 'unmapped' | undefined {
  const mapped = planTargets(entry.names, ctx.config.sites).some((target) => target.siteId === entry.siteId);
  if (!mapped && !entry.explicit) return 'unmapped';
  try {
    const files: CertificateFiles =
      entry.source.lineage !== undefined ? lineageFiles(entry.source.lineage) : entry.source;
    return {
      siteId: entry.siteId,
      names: entry.names,
      chain: readChain(files),
      files,
      origin: 'queue',
      explicit: entry.explicit,
    };
  } catch (error) {
    if (!(error instanceof CertificateError)) throw error;
    const message = `site ${entry.siteId} (${entry.names.join(', ')}): queued, but ${error.message}`;
    ctx.log.error(message);
    report.problems.push({ message, exitCode: ExitCode.Certificate });
    return undefined;
  }
}

async function dropUnmapped(queue: Queue, unmapped: readonly QueueEntry[], ctx: RunContext): Promise<void> {
  for (const entry of unmapped) {
    ctx.log.warn(
      `site ${entry.siteId} (${entry.names.join(', ')}): queued, but the map no longer assigns it to these names; ` +
        `${ctx.dryRun ? 'would drop' : 'dropped'} the entry without uploading`,
    );
  }
  if (ctx.dryRun) return;
  try {
    await queue.remove((entry) =>
      unmapped.some((gone) => gone.siteId === entry.siteId && gone.authType === entry.authType),
    );
  } catch (error) {
    if (!(error instanceof StateError)) throw error;
    ctx.log.error(error.message);
  }
}
