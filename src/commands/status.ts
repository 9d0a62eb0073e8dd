import { logKeptPaths } from '../canary/timer.js';
import { refusePlaceholders } from '../config/placeholders.js';
import { heldExpiring, heldRows, queuedOf, row, type SiteStatusRow } from '../engine/site-state.js';
import { keyTypeText } from '../model/certificate.js';
import { ImpervaView, warnLeftover, type Held } from '../engine/held.js';
import { mappedSites, type Want } from '../model/want.js';
import { ApiError, StateError } from '../model/errors.js';
import { credentialsMessage, isCredentialsError } from '../imperva/errors.js';
import { type ExpirySample, emptyReport, type Report } from '../model/report.js';
import type { RunContext } from '../run/context.js';
import { readLocal, tellLocal, warnUncovered } from '../sources/local.js';
import { coverageGaps, gapLine, ownNameOf, withPeers } from '../engine/coverage.js';
import { lockProblem, runLocks } from '../state/lock.js';
import { Queue } from '../state/queue.js';
import { DeliveryRecord, deliveryKey } from '../state/delivery.js';
import type { QueueEntry } from '../state/schema.js';
import { firstByKey, groupByKey, siteKey } from '../util/by-key.js';
import { mapPool } from '../util/pool.js';
import { formatTable } from '../util/table.js';
import { probeAll } from '../edge/survey.js';
import { scheduleFindings } from '../ari/lineages.js';
import { anyFailed } from '../model/finding.js';
import { watchApiKey } from '../imperva/api-client-findings.js';
import { fallbackFindings } from '../imperva/own-certificates-findings.js';

export interface StatusOptions {
  liveDir: string | undefined;
  /** Also ask the edge (a TLS handshake per site and key type). */
  live?: boolean | undefined;
}

export type { SiteState, SiteStatusRow } from '../engine/site-state.js';

export interface StatusReport extends Report {
  rows: SiteStatusRow[];
}

/** One row per mapped site and key type: the local certificate, what Imperva holds, any queued entry. */
export async function status(options: StatusOptions, ctx: RunContext): Promise<StatusReport> {
  const { config, log } = ctx;
  refusePlaceholders(config);
  let entries: QueueEntry[] = [];
  try {
    entries = await new Queue(config.stateDir, log, ctx.now).entries();
  } catch (error) {
    if (!(error instanceof StateError) || error.untrusted) throw error;
    log.warn(error.message);
  }
  // A lock no run releases diverts every change to queue.d: one line each, with the command that clears it.
  let stuck = false;
  for (const file of runLocks(config.stateDir, ctx.metricsFile)) {
    const problem = await lockProblem(file);
    if (problem !== undefined) log.warn(problem);
    stuck ||= problem !== undefined;
  }
  const liveDir = options.liveDir ?? config.liveDir;
  const read = readLocal(liveDir, config);
  tellLocal(read, log);
  const wants = withPeers(read.wants, read.all, config.sites);
  const uncovered = warnUncovered(liveDir, config, wants, log);
  const delivered = await new DeliveryRecord(config.stateDir, log, ctx.now).read();
  const view = new ImpervaView(await ctx.client(), log);
  // The API key proven, its expiry judged (src/imperva/api-client-findings.ts); refused: nothing more can be asked.
  const key = await watchApiKey(ctx, liveDir);
  if (key.refused)
    return { ...emptyReport(ctx.command), unhealthy: true, rows: [], data: { findings: key.findings } };
  const sites = [...mappedSites(config.sites)];
  let refused: ApiError | undefined;
  // Looked up by site once: a scan of every site's wants or entries per site is quadratic at thousands of sites.
  const wantsOf = groupByKey(wants, (want) => want.siteId);
  const entriesOf = groupByKey(entries, (entry) => entry.siteId);
  // Each site's own name, where Imperva's answer says it: a certificate must cover it too.
  const ownNames = new Map<string, string | undefined>();
  const perSite = await mapPool(sites, config.concurrency, async ([siteId, names]) => {
    const local = wantsOf.get(siteId) ?? [];
    let held: Held | undefined;
    let problem: string | undefined;
    try {
      held = await view.held(siteId);
      ownNames.set(siteId, ownNameOf(held));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      problem = error.message;
      if (isCredentialsError(error)) refused ??= error;
    }
    const queued = entriesOf.get(siteId) ?? [];
    const rows =
      local.length === 0
        ? heldRows(siteId, names, held, problem, queued, ctx)
        : local.map((want) =>
            row(
              siteId,
              names,
              want,
              held,
              problem,
              queued,
              delivered.get(deliveryKey(siteId, want.chain.keyType)),
              ctx,
            ),
          );
    warnLeftover(siteId, names, local, held, log);
    return rows;
  });
  const rows = perSite.flat();
  // Refused credentials are one error on stderr, once, naming where the key came from; not only a table of "error".
  if (refused !== undefined) log.error(credentialsMessage(refused, config.api.keySource));
  // One site, one certificate per key type, covering every name: one line per site and key type where none does.
  const gaps = coverageGaps(read.all, config.sites, ownNames);
  for (const gap of gaps) log.error(gapLine(gap));
  // What the queue owes to sites the map does not name (an explicit push --site-id) is shown too.
  const shown = new Set(rows.map((one) => one.siteId));
  // One row per key type owed: push --site-id of an RSA and an ECC certificate queues two entries for the site.
  const owed = new Set<string>();
  for (const entry of entries) {
    if (shown.has(entry.siteId) || owed.has(siteKey(entry.siteId, entry.authType))) continue;
    owed.add(siteKey(entry.siteId, entry.authType));
    rows.push({
      siteId: entry.siteId,
      names: entry.names,
      keyType: entry.authType,
      state: 'no-local-certificate',
      daysLeft: null,
      local: null,
      imperva: { expirationDate: null, inputHash: null, error: null },
      queued: queuedOf(entry),
    });
  }
  if (options.live === true) {
    const listed = new Set(rows.map((one) => one.siteId));
    const probed = wants.filter((want) => listed.has(want.siteId));
    const edges = await probeAll(probed, ctx, undefined);
    const rowOf = firstByKey(
      rows.filter((one) => one.keyType !== null),
      (one) => siteKey(one.siteId, one.keyType ?? ''),
    );
    for (const edge of edges) {
      const one = rowOf.get(siteKey(edge.siteId, edge.keyType));
      if (one !== undefined) {
        one.edge = { state: edge.state, detail: edge.detail, notAfter: edge.served?.notAfter ?? null };
        rejudgeByEdge(one, edge.served, wants, ctx);
      }
    }
  }
  const healthy = rows.every(
    (one) =>
      (one.state === 'current' || (one.state === 'no-local-certificate' && one.queued === null)) &&
      one.queued === null &&
      (one.edge === undefined || one.edge.state === 'served'),
  );
  const expiries: ExpirySample[] = rows.flatMap((one) => [
    ...(one.local === null || one.keyType === null
      ? []
      : [
          {
            siteId: one.siteId,
            keyType: one.keyType,
            source: 'local' as const,
            notAfter: new Date(one.local.notAfter),
          },
        ]),
    ...(one.imperva.expirationDate === null || one.keyType === null
      ? []
      : [
          {
            siteId: one.siteId,
            keyType: one.keyType,
            source: 'imperva' as const,
            notAfter: new Date(one.imperva.expirationDate),
          },
        ]),
    ...(one.edge?.notAfter == null || one.keyType === null
      ? []
      : [
          {
            siteId: one.siteId,
            keyType: one.keyType,
            source: 'edge' as const,
            notAfter: new Date(one.edge.notAfter),
          },
        ]),
  ]);
  const schedule = await scheduleFindings({ config, liveDir, log, now: ctx.now, run: ctx }, 'debug');
  // Whether Imperva's own certificate would serve each site without ours (src/imperva/own-certificates-findings.ts).
  const mine = [...key.findings, ...(await fallbackFindings(ctx, rows))];
  await logKeptPaths(ctx); // the renewal-path canary's last verdicts (src/canary/timer.ts)
  return {
    ...emptyReport(ctx.command),
    unhealthy: !healthy || uncovered || stuck || gaps.length > 0 || anyFailed(schedule) || anyFailed(mine),
    rows,
    apiKeyExpiry: key.expiresAt,
    data: {
      findings: [...schedule, ...mine],
      sites: rows,
      coverage: gaps.map((gap) => ({
        siteId: gap.siteId,
        keyType: gap.keyType,
        names: gap.names,
        certificates: gap.certificates.map((one) => ({
          lineage: one.files.lineage ?? null,
          certificate: one.files.cert,
          names: one.chain.names,
        })),
        message: gapLine(gap),
      })),
    },
    expiries,
    replaceSources: ['local', 'imperva', ...(options.live === true ? (['edge'] as const) : [])],
  };
}

/**
 * What the queue owes a site: a failure's attempts since the first, or a site still pending — deferred by a sync's
 * deadline, or about to be uploaded by a run that has not settled (or was killed).
 */
function queuedCell(queued: NonNullable<SiteStatusRow['queued']>): string {
  const since = queued.firstFailure.replace(/\.\d{3}Z$/, 'Z');
  if (queued.state === 'failed')
    return `${queued.attempts} attempt${queued.attempts === 1 ? '' : 's'} since ${since}`;
  return `pending (${queued.state}) since ${since}`;
}

/**
 * An outdated or expiring row whose held certificate, not the local one, the edge served (the same notAfter):
 * judged again on that certificate's own issue date, which only the edge tells.
 */
function rejudgeByEdge(
  one: SiteStatusRow,
  served: { fingerprint: string; notBefore: string; notAfter: string } | undefined,
  wants: readonly Want[],
  ctx: RunContext,
): void {
  if (one.state !== 'outdated' && one.state !== 'expiring') return;
  const expires = one.imperva.expirationDate;
  if (served === undefined || expires === null || Date.parse(served.notAfter) !== Date.parse(expires)) return;
  const local = wants.find((want) => want.siteId === one.siteId && want.chain.keyType === one.keyType);
  // The local certificate was already judged on its own dates.
  if (local === undefined || local.chain.fingerprint === served.fingerprint) return;
  const expiring = heldExpiring(new Date(expires), new Date(served.notBefore), local.chain, ctx);
  one.state = expiring ? 'expiring' : 'outdated';
}

/**
 * The status table, one line per site and key type, then the problems: one line per cause, with the count of sites
 * it hits (the rows say which). Key types in Certbot's words; times carry their zone; DAYS is what is left on the
 * certificate Imperva holds.
 */
export function statusTable(rows: readonly SiteStatusRow[]): string[] {
  const live = rows.some((one) => one.edge !== undefined);
  const cells = rows.map((one) => [
    one.siteId,
    one.names.join(','),
    one.keyType === null ? '-' : keyTypeText(one.keyType),
    one.local === null
      ? '-'
      : `${one.local.notAfter.slice(0, 10)} sha256 ${one.local.fingerprint.slice(0, 8)}…`,
    one.imperva.error !== null ? 'error' : (one.imperva.expirationDate?.slice(0, 10) ?? 'none'),
    one.daysLeft === null ? '-' : String(one.daysLeft),
    one.state,
    ...(live ? [one.edge?.state ?? '-'] : []),
    one.queued === null ? '-' : queuedCell(one.queued),
  ]);
  const header = [
    'SITE',
    'NAMES',
    'KEY',
    'LOCAL',
    'IMPERVA',
    'DAYS',
    'STATE',
    ...(live ? ['EDGE'] : []),
    'QUEUED',
  ];
  const label = (one: SiteStatusRow) =>
    `site ${one.siteId}${one.keyType === null ? '' : ` ${keyTypeText(one.keyType)}`}`;
  const problems = rows.flatMap((one) => [
    ...(one.imperva.error === null ? [] : [{ site: label(one), text: one.imperva.error }]),
    ...(one.imperva.flagged === undefined
      ? []
      : [{ site: label(one), text: `flagged: ${one.imperva.flagged}` }]),
    ...(one.queued === null || one.queued.lastError === ''
      ? []
      : [{ site: label(one), text: `queued: ${one.queued.lastError}` }]),
    ...(one.edge === undefined || one.edge.state === 'served'
      ? []
      : [{ site: label(one), text: `edge ${one.edge.state}: ${one.edge.detail}` }]),
  ]);
  return [...formatTable(header, cells), ...problemLines(problems)];
}

/** How many sites a shared problem's line names before `and N more` (the table above names every one). */
const SITES_NAMED = 5;

/**
 * One line per problem text: `site 12: why` for one site, `3 sites (site 2, site 3, site 4): why` where several share
 * it, the first five named and then `and N more`, as the upload commands name the sites a refusal hit.
 */
function problemLines(problems: readonly { site: string; text: string }[]): string[] {
  const bySite = groupByKey(problems, (one) => one.text);
  return [...bySite].map(([text, some]) => {
    if (some.length === 1) return `${some[0]?.site ?? ''}: ${text}`;
    const named = some.slice(0, SITES_NAMED).map((one) => one.site);
    const more = some.length > SITES_NAMED ? ` and ${some.length - SITES_NAMED} more` : '';
    return `${some.length} sites (${named.join(', ')}${more}): ${text}`;
  });
}
