import { lineageFiles, readChain } from '../certificate/read.js';
import { describeNames, mappedSites, planTargets } from '../engine/plan.js';
import { ApiError, CertificateError } from '../errors.js';
import { emptyReport, type Report } from '../report.js';
import type { RunContext } from '../run/context.js';
import { listLineages } from '../sources/live.js';
import { localWants, warnUncovered } from '../sources/local.js';
import { mapPool } from '../util/pool.js';

export interface CheckOptions {
  liveDir: string | undefined;
}

/**
 * Validates the config, proves the credentials with one read-only `sites/status` call per mapped site, and prints
 * the plan for every lineage in the live folder. Uploads nothing.
 */
export async function check(options: CheckOptions, ctx: RunContext): Promise<Report> {
  const { config, log } = ctx;
  log.info(`config ${config.file} is valid: ${config.sites.size} names, API ${config.api.baseUrl}`);

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
          log.info(
            `site ${siteId} (${names.join(', ')}): reachable, domain ${status.domain ?? 'unknown'}, serves ${serving}`,
          );
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        failed = true;
        return () => log.error(`site ${siteId} (${names.join(', ')}): ${error.message}`);
      }
    },
    (report) => report(),
  );

  const liveDir = options.liveDir ?? config.liveDir;
  const covered = new Set<string>();
  for (const lineage of listLineages(liveDir, log)) {
    try {
      const chain = readChain(lineageFiles(lineage));
      const targets = planTargets(chain.names, config.sites);
      for (const target of targets) covered.add(target.siteId);
      log.info(
        targets.length === 0
          ? `plan: ${lineage} (${describeNames(chain.names)}) → no site`
          : `plan: ${lineage} (${describeNames(chain.names)}, expires ${chain.notAfter.toISOString()}) → ` +
              targets.map((target) => `site ${target.siteId}`).join(', '),
      );
    } catch (error) {
      if (!(error instanceof CertificateError)) throw error;
      log.warn(`plan: ${lineage}: ${error.message}`);
    }
  }
  for (const [siteId, names] of namesBySite) {
    if (!covered.has(siteId))
      log.info(`plan: site ${siteId} (${names.join(', ')}) gets no certificate from ${liveDir}`);
  }
  // The config's other sources count too; what nothing covers is a warning and a non-zero exit.
  const quietLog = { ...log, warn: () => {}, info: () => {} };
  const uncovered = warnUncovered(liveDir, config, localWants(liveDir, config, quietLog), log);
  return { ...emptyReport(ctx.command), unhealthy: failed || uncovered };
}
