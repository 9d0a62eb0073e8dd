import { logKeptPaths } from '../canary/timer.js';
import { refusePlaceholders } from '../config/placeholders.js';
import type { KeyType } from '../model/certificate.js';
import { isExpiring, daysLeft } from '../certificate/expiry.js';
import { heldOfType, holdsCertificate, ImpervaView, warnLeftover, type Held } from '../engine/held.js';
import { mappedSites, type Want } from '../model/want.js';
import type { EdgeState } from '../edge/judge.js';
import { ApiError, StateError } from '../model/errors.js';
import { credentialsMessage, isCredentialsError } from '../imperva/errors.js';
import { type ExpirySample, emptyReport, type Report } from '../model/report.js';
import type { RunContext } from '../run/context.js';
import { readLocal, tellLocal, warnUncovered } from '../sources/local.js';
import { coverageGaps, gapLine, ownNameOf, withPeers } from '../engine/coverage.js';
import { lockProblem, runLocks } from '../state/lock.js';
import { Queue } from '../state/queue.js';
import type { QueueEntry } from '../state/schema.js';
import { firstByKey, groupByKey, siteKey } from '../util/by-key.js';
import { mapPool } from '../util/pool.js';
import { formatTable } from '../util/table.js';
import { probeAll } from '../edge/survey.js';

export interface StatusOptions {
  liveDir: string | undefined;
  /** Also ask the edge (a TLS handshake per site and key type). */
  live?: boolean | undefined;
}

/**
 * current: Imperva holds the local certificate (for its key type); outdated: it holds another; missing: none of
 * that key type; expiring: what it holds expires within the warning window; error: Imperva could not be asked.
 */
export type SiteState = 'current' | 'outdated' | 'missing' | 'expiring' | 'no-local-certificate' | 'error';

export interface SiteStatusRow {
  siteId: string;
  names: string[];
  /** The local certificate's key type; null when this host has none for the site. */
  keyType: KeyType | null;
  state: SiteState;
  /** Whole days left on what Imperva holds for this key type (the local certificate when current). */
  daysLeft: number | null;
  local: {
    lineage: string | undefined;
    serial: string;
    keyType: string;
    notAfter: string;
    fingerprint: string;
  } | null;
  imperva: { expirationDate: string | null; inputHash: string | null; error: string | null };
  queued: {
    lastError: string;
    attempts: number;
    firstFailure: string;
    lastFailure: string;
    state: string;
  } | null;
  edge?: { state: EdgeState; detail: string; notAfter: string | null } | undefined;
}

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
  const view = new ImpervaView(await ctx.client(), log);
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
    const rows = (local.length === 0 ? [undefined] : local).map((want) =>
      row(siteId, names, want, held, problem, entriesOf.get(siteId) ?? [], ctx),
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
  await logKeptPaths(ctx); // the renewal-path canary's last verdicts (src/canary/timer.ts)
  return {
    ...emptyReport(ctx.command),
    unhealthy: !healthy || uncovered || stuck || gaps.length > 0,
    rows,
    data: {
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

function queuedOf(entry: QueueEntry): NonNullable<SiteStatusRow['queued']> {
  return {
    lastError: entry.lastError,
    attempts: entry.attempts,
    firstFailure: entry.firstFailure ?? entry.since,
    lastFailure: entry.lastFailure ?? entry.since,
    state: entry.state,
  };
}

function row(
  siteId: string,
  names: string[],
  want: Want | undefined,
  held: Held | undefined,
  problem: string | undefined,
  /** The queue's entries for this site. */
  entries: readonly QueueEntry[],
  ctx: RunContext,
): SiteStatusRow {
  const keyType = want?.chain.keyType ?? null;
  const entry = entries.find((candidate) => keyType === null || candidate.authType === keyType);
  const out: SiteStatusRow = {
    siteId,
    names,
    keyType,
    state: 'no-local-certificate',
    daysLeft: null,
    local:
      want === undefined
        ? null
        : {
            lineage: want.files.lineage,
            serial: want.chain.serial,
            keyType: want.chain.keyType,
            notAfter: want.chain.notAfter.toISOString(),
            fingerprint: want.chain.fingerprint,
          },
    imperva: { expirationDate: null, inputHash: null, error: problem ?? null },
    queued: entry === undefined ? null : queuedOf(entry),
  };
  if (problem !== undefined) {
    out.state = 'error';
    return out;
  }
  if (held === undefined || want === undefined) return out;
  const { chain } = want;
  const expiration =
    held.source === 'v3'
      ? heldOfType(held, chain.keyType)?.expirationDate
      : held.status.custom?.expirationDate;
  const inputHash =
    held.source === 'v3' ? heldOfType(held, chain.keyType)?.inputHash : held.status.custom?.inputHash;
  out.imperva.expirationDate = expiration === undefined ? null : new Date(expiration).toISOString();
  out.imperva.inputHash = inputHash ?? null;
  const holds =
    held.source === 'v3' ? heldOfType(held, chain.keyType) !== undefined : held.status.custom !== undefined;
  out.state = !holds ? 'missing' : holdsCertificate(held, chain) ? 'current' : 'outdated';
  if (holds && expiration !== undefined) {
    const served = new Date(expiration);
    out.daysLeft = daysLeft(served, ctx.now());
    const notBefore = new Date(chain.leaf.validFrom);
    if (isExpiring(notBefore, served, ctx.now(), ctx.config.warnDays)) out.state = 'expiring';
  }
  return out;
}

/** The status table, one line per site and key type, then one line per problem. Times carry their zone. */
export function statusTable(rows: readonly SiteStatusRow[]): string[] {
  const live = rows.some((one) => one.edge !== undefined);
  const cells = rows.map((one) => [
    one.siteId,
    one.names.join(','),
    one.local === null
      ? '-'
      : `${one.local.keyType} ${one.local.notAfter.slice(0, 10)} #${one.local.serial.slice(0, 12)}`,
    one.imperva.error !== null ? 'error' : (one.imperva.expirationDate?.slice(0, 10) ?? 'none'),
    one.state + (one.state === 'expiring' && one.daysLeft !== null ? ` (${one.daysLeft} d left)` : ''),
    ...(live ? [one.edge?.state ?? '-'] : []),
    one.queued === null ? '-' : queuedCell(one.queued),
  ]);
  const header = ['SITE', 'NAMES', 'LOCAL', 'IMPERVA', 'STATE', ...(live ? ['EDGE'] : []), 'QUEUED'];
  const problems = rows.flatMap((one) => [
    ...(one.imperva.error === null ? [] : [`site ${one.siteId}: ${one.imperva.error}`]),
    ...(one.queued === null || one.queued.lastError === ''
      ? []
      : [`site ${one.siteId}: queued: ${one.queued.lastError}`]),
    ...(one.edge === undefined || one.edge.state === 'served'
      ? []
      : [`site ${one.siteId} ${one.keyType ?? ''}: edge ${one.edge.state}: ${one.edge.detail}`]),
  ]);
  return [...formatTable(header, cells), ...problems];
}
