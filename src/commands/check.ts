import { keyTypeText } from '../model/certificate.js';
import { readChain } from '../certificate/chain.js';
import { lineageFiles } from '../certificate/lineage.js';
import { ImpervaView } from '../engine/held.js';
import { describeNames, mappedSites, planTargets } from '../model/want.js';
import { ApiError, CertificateError } from '../model/errors.js';
import { refusePlaceholders } from '../config/placeholders.js';
import { credentialsMessage, isCredentialsError, isUnknownSite } from '../imperva/errors.js';
import { emptyReport, type Report } from '../model/report.js';
import type { RunContext } from '../run/context.js';
import { listLineages } from '../sources/live.js';
import { clientWants } from '../sources/clients.js';
import { readLocal, warnUncovered } from '../sources/local.js';
import { coverageGaps, gapLine, ownNameOf } from '../engine/coverage.js';
import { lockProblem, runLocks } from '../state/lock.js';
import { mapPool } from '../util/pool.js';
import { scheduleFindings } from '../ari/lineages.js';
import { anyFailed } from '../model/finding.js';

export interface CheckOptions {
  liveDir: string | undefined;
}

/**
 * Validates the config (the template's placeholders are refused), proves the credentials with one account/verify
 * call, says what each mapped site holds, and prints the plan for every lineage. Uploads nothing.
 */
export async function check(options: CheckOptions, ctx: RunContext): Promise<Report> {
  const { config, log } = ctx;
  refusePlaceholders(config);
  log.info(`config ${config.file} is valid: ${config.sites.size} names, API ${config.api.baseUrl}`);

  const client = await ctx.client();
  let failed = false;
  try {
    const account = await client.verifyAccount();
    log.info(
      `credentials: account ${account.accountName} (${account.accountId}), plan ${account.planName}; key from ${config.api.keySource}`,
    );
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    log.error(
      isCredentialsError(error)
        ? credentialsMessage(error, config.api.keySource)
        : `cannot prove the credentials: ${error.message}`,
    );
    return { ...emptyReport(ctx.command), unhealthy: true };
  }

  const namesBySite = mappedSites(config.sites);
  const view = new ImpervaView(client, log);
  // Each site's own name, where Imperva's answer says it: a certificate must cover it too.
  const ownNames = new Map<string, string | undefined>();
  await mapPool(
    [...namesBySite],
    config.concurrency,
    async ([siteId, names]) => {
      const where = `site ${siteId} (${names.join(', ')})`;
      try {
        const held = await view.held(siteId);
        ownNames.set(siteId, ownNameOf(held));
        // v3 lists no certificate for a site the account does not have: v1 tells it apart (9413).
        if (held.source === 'v3' && held.certificates.length === 0)
          ownNames.set(siteId, (await client.status(siteId)).domain);
        const holds =
          held.source === 'v3'
            ? held.certificates.map(
                (entry) =>
                  `${keyTypeText(entry.keyType)}${entry.expirationDate === undefined ? '' : ` until ${new Date(entry.expirationDate).toISOString()}`}`,
              )
            : held.status.custom === undefined
              ? []
              : [
                  `a custom certificate${held.status.custom.expirationDate === undefined ? '' : ` until ${new Date(held.status.custom.expirationDate).toISOString()}`}`,
                ];
        return () =>
          log.info(`${where}: holds ${holds.length === 0 ? 'no custom certificate' : holds.join(', ')}`);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        failed = true;
        const what = isUnknownSite(error)
          ? `unknown site id: Imperva does not know it, or the API key has no access to it (res 9413); check the sites map`
          : error.message;
        return () => log.error(`${where}: ${what}`);
      }
    },
    (report) => report(),
  );

  const liveDir = options.liveDir ?? config.liveDir;
  const covered = new Set<string>();
  const { lineages, note } = listLineages(liveDir);
  if (note !== undefined) log.info(note);
  for (const lineage of lineages) {
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
  // (The live folder's lineages were read just above: only the sources are read here.)
  const { wants: fromSources, refused } = clientWants(config.sources ?? [], config.sites);
  for (const line of refused) log.warn(`sources: ${line}`);
  const uncovered = warnUncovered(
    liveDir,
    config,
    [...[...covered].map((siteId) => ({ siteId })), ...fromSources],
    log,
  );
  // One site, one certificate per key type, covering every name: one line per site and key type where none does.
  const gaps = coverageGaps(readLocal(liveDir, config).all, config.sites, ownNames);
  for (const gap of gaps) log.error(gapLine(gap));
  // A lock no run releases diverts every change to queue.d: one line each, with the command that clears it.
  let stuck = false;
  for (const file of runLocks(config.stateDir, ctx.metricsFile)) {
    const problem = await lockProblem(file);
    if (problem !== undefined) log.warn(problem);
    stuck ||= problem !== undefined;
  }
  const schedule = await scheduleFindings({ config, liveDir, log, now: ctx.now, run: ctx });
  return {
    ...emptyReport(ctx.command),
    unhealthy: failed || uncovered || refused.length > 0 || stuck || gaps.length > 0 || anyFailed(schedule),
    data: { findings: schedule },
  };
}
