import { logKeptPaths } from '../canary/timer.js';
import { refusePlaceholders } from '../config/placeholders.js';
import { keyTypeText, type KeyType } from '../model/certificate.js';
import { isExpiring, daysLeft } from '../certificate/expiry.js';
import { heldOfType, ImpervaView, judgeHeld, warnLeftover, type Held } from '../engine/held.js';
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
import { DeliveryRecord, deliveryKey, type Delivery } from '../state/delivery.js';
import type { QueueEntry } from '../state/schema.js';
import { firstByKey, groupByKey, siteKey } from '../util/by-key.js';
import { mapPool } from '../util/pool.js';
import { formatTable } from '../util/table.js';
import { probeAll } from '../edge/survey.js';
import { scheduleFindings } from '../ari/lineages.js';
import { anyFailed } from '../model/finding.js';

export interface StatusOptions {
  liveDir: string | undefined;
  /** Also ask the edge (a TLS handshake per site and key type). */
  live?: boolean | undefined;
}

/**
 * current: Imperva holds the local certificate (for its key type); outdated: it holds another; missing: none of
 * that key type; flagged: it holds the local certificate and flags it (a name it leaves out, a broken chain);
 * expiring: what it holds expires within the warning window; error: Imperva could not be asked.
 */
export type SiteState =
  'current' | 'outdated' | 'missing' | 'flagged' | 'expiring' | 'no-local-certificate' | 'error';

export interface SiteStatusRow {
  siteId: string;
  names: string[];
  /** The local certificate's key type, else that of what Imperva holds; null when neither is known. */
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
  imperva: {
    expirationDate: string | null;
    inputHash: string | null;
    error: string | null;
    /** What Imperva flags on the certificate it holds (state flagged). */
    flagged?: string | undefined;
  };
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
  const delivered = await new DeliveryRecord(config.stateDir, log, ctx.now).read();
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
  await logKeptPaths(ctx); // the renewal-path canary's last verdicts (src/canary/timer.ts)
  return {
    ...emptyReport(ctx.command),
    unhealthy: !healthy || uncovered || stuck || gaps.length > 0 || anyFailed(schedule),
    rows,
    data: {
      findings: schedule,
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
  want: Want,
  held: Held | undefined,
  problem: string | undefined,
  /** The queue's entries for this site. */
  entries: readonly QueueEntry[],
  /** What this host delivered there (the delivery record): judges a legacy listing and Imperva's flags. */
  delivery: Delivery | undefined,
  ctx: RunContext,
): SiteStatusRow {
  const { chain } = want;
  const entry = entries.find((candidate) => candidate.authType === chain.keyType);
  const out: SiteStatusRow = {
    siteId,
    names,
    keyType: chain.keyType,
    state: 'no-local-certificate',
    daysLeft: null,
    local: {
      lineage: want.files.lineage,
      serial: chain.serial,
      keyType: chain.keyType,
      notAfter: chain.notAfter.toISOString(),
      fingerprint: chain.fingerprint,
    },
    imperva: { expirationDate: null, inputHash: null, error: problem ?? null },
    queued: entry === undefined ? null : queuedOf(entry),
  };
  if (problem !== undefined) {
    out.state = 'error';
    return out;
  }
  if (held === undefined) return out;
  const holds = heldInfo(held, chain.keyType);
  out.imperva.expirationDate = holds?.expirationDate ?? null;
  out.imperva.inputHash = holds?.inputHash ?? null;
  const judged = judgeHeld(held, want, delivery);
  if (judged === 'missing') out.state = holds === undefined ? 'missing' : 'outdated';
  else if (judged === 'current') out.state = 'current';
  else {
    out.state = 'flagged';
    out.imperva.flagged = judged.message;
  }
  if (holds?.expirationDate != null) {
    const served = new Date(holds.expirationDate);
    out.daysLeft = daysLeft(served, ctx.now());
    const notBefore = new Date(chain.leaf.validFrom);
    if (out.state !== 'flagged' && isExpiring(notBefore, served, ctx.now(), ctx.config.warnDays)) {
      out.state = 'expiring';
    }
  }
  return out;
}

/** What Imperva holds of this key type (v1: its one custom certificate, whatever the type), if anything. */
function heldInfo(
  held: Held,
  keyType: KeyType,
): { expirationDate: string | null; inputHash: string | null } | undefined {
  const entry = held.source === 'v3' ? heldOfType(held, keyType) : held.status.custom;
  if (entry === undefined) return undefined;
  return {
    expirationDate: entry.expirationDate === undefined ? null : new Date(entry.expirationDate).toISOString(),
    inputHash: entry.inputHash ?? null,
  };
}

/**
 * The rows of a site this host has no certificate for: one per certificate Imperva holds there (what clients get,
 * and until when), else one saying there is none.
 */
function heldRows(
  siteId: string,
  names: string[],
  held: Held | undefined,
  problem: string | undefined,
  entries: readonly QueueEntry[],
  ctx: RunContext,
): SiteStatusRow[] {
  const blank = (keyType: KeyType | null, expiration: number | undefined, inputHash: string | undefined) => {
    const entry = entries.find((candidate) => keyType === null || candidate.authType === keyType);
    return {
      siteId,
      names,
      keyType,
      state: problem === undefined ? ('no-local-certificate' as const) : ('error' as const),
      daysLeft: expiration === undefined ? null : daysLeft(new Date(expiration), ctx.now()),
      local: null,
      imperva: {
        expirationDate: expiration === undefined ? null : new Date(expiration).toISOString(),
        inputHash: inputHash ?? null,
        error: problem ?? null,
      },
      queued: entry === undefined ? null : queuedOf(entry),
    };
  };
  if (held?.source === 'v3' && held.certificates.length > 0) {
    return held.certificates.map((one) => blank(one.keyType, one.expirationDate, one.inputHash));
  }
  if (held?.source === 'v1' && held.status.custom !== undefined) {
    return [blank(null, held.status.custom.expirationDate, held.status.custom.inputHash)];
  }
  return [blank(null, undefined, undefined)];
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

/** One line per problem text: `site 12: why` for one site, `3 sites: why` where several share it. */
function problemLines(problems: readonly { site: string; text: string }[]): string[] {
  const bySite = groupByKey(problems, (one) => one.text);
  return [...bySite].map(([text, some]) =>
    some.length === 1 ? `${some[0]?.site ?? ''}: ${text}` : `${some.length} sites: ${text}`,
  );
}
