import type { Argv, CommandModule } from 'yargs';
import { lineageFiles, readChain } from '../certificate/read.js';
import { ApiError, CertificateError, ExitCode } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { mapPool } from '../imperva/limiter.js';
import { describeNames, mappedSites, planTargets } from '../push/plan.js';
import { listLineages } from '../sync/local.js';
import { liveDirOption, openRun, type Deps, type GlobalFlags } from './context.js';

export interface CheckFlags extends GlobalFlags {
  'live-dir': string | undefined;
}

/**
 * Validates the config, proves the credentials with one read-only `sites/status` call per mapped site, and prints
 * the plan for every lineage in the live folder. Uploads nothing.
 */
export async function check(flags: CheckFlags, deps: Deps, logger: Logger): Promise<ExitCode> {
  const ctx = openRun('check', flags, deps, logger);
  const { config } = ctx;
  logger.info(`config ${config.file} is valid: ${config.sites.size} names, API ${config.api.baseUrl}`);

  const namesBySite = mappedSites(config.sites);
  const client = await ctx.client();
  let failed = false;
  await mapPool(
    [...namesBySite],
    config.concurrency,
    async ([siteId, names]) => {
      try {
        const status = await client.status(siteId);
        const serving =
          status.custom?.expirationDate === undefined
            ? 'no custom certificate'
            : `a custom certificate expiring ${new Date(status.custom.expirationDate).toISOString()}`;
        return () =>
          logger.info(
            `site ${siteId} (${names.join(', ')}): reachable, domain ${status.domain ?? 'unknown'}, serves ${serving}`,
          );
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        failed = true;
        return () => logger.error(`site ${siteId} (${names.join(', ')}): ${error.message}`);
      }
    },
    (report) => report(),
  );

  const liveDir = flags['live-dir'] ?? config.liveDir;
  const covered = new Set<string>();
  for (const lineage of listLineages(liveDir, logger)) {
    try {
      const chain = readChain(lineageFiles(lineage));
      const targets = planTargets(chain.names, config.sites);
      for (const target of targets) covered.add(target.siteId);
      logger.info(
        targets.length === 0
          ? `plan: ${lineage} (${describeNames(chain.names)}) → no site`
          : `plan: ${lineage} (${describeNames(chain.names)}, expires ${chain.notAfter.toISOString()}) → ` +
              targets.map((target) => `site ${target.siteId}`).join(', '),
      );
    } catch (error) {
      if (!(error instanceof CertificateError)) throw error;
      logger.warn(`plan: ${lineage}: ${error.message}`);
    }
  }
  for (const [siteId, names] of namesBySite) {
    if (!covered.has(siteId))
      logger.info(`plan: site ${siteId} (${names.join(', ')}) gets no certificate from ${liveDir}`);
  }
  return failed ? ExitCode.SiteFailed : ExitCode.Ok;
}

export function checkCommand(
  deps: Deps,
  logger: Logger,
  done: (code: ExitCode) => void,
): CommandModule<GlobalFlags, CheckFlags> {
  return {
    command: 'check',
    describe: 'Validate the config and the credentials, and print the plan; uploads nothing',
    builder: (yargs: Argv<GlobalFlags>) =>
      yargs.option('live-dir', liveDirOption) as unknown as Argv<CheckFlags>,
    handler: async (argv) => done(await check(argv, deps, logger)),
  };
}
