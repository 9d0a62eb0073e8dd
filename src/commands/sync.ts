import type { Argv, CommandModule } from 'yargs';
import { lineageFiles, readChain, type CertificateFiles } from '../certificate/read.js';
import { ApiError, CertificateError, ExitCode } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { mapPool } from '../imperva/limiter.js';
import { deliver, dryRunLine, prepare, settle, type Delivery } from '../push/push.js';
import { Queue, QueueError, type QueueEntry } from '../state/queue.js';
import { localCertificates, servesCertificate, type LocalCertificate } from '../sync/local.js';
import { liveDirOption, openRun, type Deps, type GlobalFlags } from './context.js';

export interface SyncFlags extends GlobalFlags {
  'live-dir': string | undefined;
}

/**
 * Reconciles what Imperva serves with what is on disk. For every mapped site: the newest certificate in the live
 * folder that covers it, else the certificate a queued failure names. Asks Imperva what the site serves and
 * uploads only where that is not the local certificate; then every queued entry is delivered or stays queued.
 * Works from the source of truth, so a wiped stateDir loses nothing and a second sync uploads nothing.
 */
export async function sync(flags: SyncFlags, deps: Deps, logger: Logger): Promise<ExitCode> {
  const ctx = openRun('sync', flags, deps, logger);
  const { config } = ctx;
  let entries: QueueEntry[] = [];
  try {
    entries = await new Queue(config.stateDir, logger, ctx.now).entries();
  } catch (error) {
    if (!(error instanceof QueueError)) throw error;
    logger.error(`${error.message}; syncing from ${flags['live-dir'] ?? config.liveDir} only`);
  }

  const candidates = localCertificates(flags['live-dir'] ?? config.liveDir, config.sites, logger);
  let certificateProblem = false;
  for (const entry of entries) {
    if (candidates.has(entry.siteId)) continue;
    try {
      const files: CertificateFiles =
        entry.source.lineage !== undefined ? lineageFiles(entry.source.lineage) : entry.source;
      candidates.set(entry.siteId, { chain: readChain(files), files, names: entry.names });
    } catch (error) {
      if (!(error instanceof CertificateError)) throw error;
      certificateProblem = true;
      logger.error(`site ${entry.siteId} (${entry.names.join(', ')}): queued, but ${error.message}`);
    }
  }
  if (candidates.size === 0) {
    logger.info('sync: no mapped certificate and nothing queued; nothing to do');
    return certificateProblem ? ExitCode.Certificate : ExitCode.Ok;
  }

  const client = await ctx.client();
  const sites = [...candidates];
  // What each site serves, asked of Imperva for all sites at once, as far as the concurrency bound allows.
  const serving = await mapPool(sites, config.concurrency, async ([siteId, local]) => {
    try {
      return servesCertificate((await client.status(siteId)).custom, local.chain);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      // The upload is harmless if the site had the certificate after all, and says whether the site is reachable.
      logger.debug(
        `site ${siteId} (${local.names.join(', ')}): cannot read what it serves (${error.message}); uploading`,
      );
      return false;
    }
  });
  const current: { siteId: string; notAfter: Date }[] = [];
  const deliveries: Delivery[] = [];
  sites.forEach(([siteId, local], index) => {
    const where = `site ${siteId} (${local.names.join(', ')})`;
    if (serving[index] === true) {
      logger.debug(
        `${where}: serves the current certificate (sha256 ${local.chain.fingerprint.slice(0, 16)}…)`,
      );
      current.push({ siteId, notAfter: local.chain.notAfter });
      return;
    }
    try {
      deliveries.push(delivery(siteId, local, ctx));
    } catch (error) {
      if (!(error instanceof CertificateError)) throw error;
      certificateProblem = true;
      logger.error(`${where}: ${error.message}`);
    }
  });

  let code: ExitCode = ExitCode.Ok;
  if (ctx.dryRun) {
    for (const { bundle, target } of deliveries) logger.info(dryRunLine(bundle, target));
  } else {
    const outcomes = await deliver(deliveries, ctx);
    code = await settle(outcomes, ctx, current);
    const failed = outcomes.filter((outcome) => outcome.error !== undefined).length;
    logger.info(
      `sync: ${current.length} current, ${outcomes.length - failed} uploaded, ${failed} failed` +
        (failed > 0 ? ` (queued in ${config.stateDir})` : ''),
    );
  }
  return certificateProblem ? ExitCode.Certificate : code;
}

function delivery(siteId: string, local: LocalCertificate, ctx: ReturnType<typeof openRun>): Delivery {
  return {
    target: { siteId, names: local.names },
    bundle: prepare(local.chain, local.files, ctx),
    files: local.files,
  };
}

export function syncCommand(
  deps: Deps,
  logger: Logger,
  done: (code: ExitCode) => void,
): CommandModule<GlobalFlags, SyncFlags> {
  return {
    command: 'sync',
    describe: 'Upload wherever Imperva does not serve the certificate on disk, and deliver queued failures',
    builder: (yargs: Argv<GlobalFlags>) =>
      yargs.option('live-dir', liveDirOption) as unknown as Argv<SyncFlags>,
    handler: async (argv) => done(await sync(argv, deps, logger)),
  };
}
