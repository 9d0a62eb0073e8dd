import { mappedSites } from '../engine/plan.js';
import { servesCertificate } from '../engine/served.js';
import { ApiError, StateError } from '../errors.js';
import { emptyReport, type Report } from '../report.js';
import type { RunContext } from '../run/context.js';
import { localWants, warnUncovered } from '../sources/local.js';
import { Queue, type QueueEntry } from '../state/queue.js';
import { mapPool } from '../util/pool.js';

export interface StatusOptions {
  liveDir: string | undefined;
}

/** current: Imperva serves the local certificate; outdated: it serves another; missing: no custom certificate. */
export type SiteState = 'current' | 'outdated' | 'missing' | 'no-local-certificate' | 'error';

export interface SiteStatusRow {
  siteId: string;
  names: string[];
  state: SiteState;
  local: {
    lineage: string | undefined;
    serial: string;
    keyType: string;
    notAfter: string;
    fingerprint: string;
  } | null;
  imperva: { expirationDate: string | null; inputHash: string | null; error: string | null };
  queued: { lastError: string; attempts: number; firstFailure: string; lastFailure: string } | null;
}

export interface StatusReport extends Report {
  rows: SiteStatusRow[];
}

/** One row per mapped site: the local certificate, what Imperva serves, and any queued failure. */
export async function status(options: StatusOptions, ctx: RunContext): Promise<StatusReport> {
  const { config, log } = ctx;
  let entries: QueueEntry[] = [];
  try {
    entries = await new Queue(config.stateDir, log, ctx.now).entries();
  } catch (error) {
    if (!(error instanceof StateError) || error.untrusted) throw error;
    log.warn(error.message);
  }
  const liveDir = options.liveDir ?? config.liveDir;
  const wants = localWants(liveDir, config, log);
  const uncovered = warnUncovered(liveDir, config, wants, log);
  const client = await ctx.client();
  const rows = await mapPool([...mappedSites(config.sites)], config.concurrency, async ([siteId, names]) => {
    // The newest local certificate for the site, whatever its key type (both key types: see verify).
    const local = wants
      .filter((want) => want.siteId === siteId)
      .sort((a, b) => b.chain.notAfter.getTime() - a.chain.notAfter.getTime())[0];
    const entry = entries.find((candidate) => candidate.siteId === siteId);
    const row: SiteStatusRow = {
      siteId,
      names,
      state: 'no-local-certificate',
      local:
        local === undefined
          ? null
          : {
              lineage: local.files.lineage,
              serial: local.chain.serial,
              keyType: local.chain.keyType,
              notAfter: local.chain.notAfter.toISOString(),
              fingerprint: local.chain.fingerprint,
            },
      imperva: { expirationDate: null, inputHash: null, error: null },
      queued:
        entry === undefined
          ? null
          : {
              lastError: entry.lastError,
              attempts: entry.attempts,
              firstFailure: entry.firstFailure ?? entry.since,
              lastFailure: entry.lastFailure ?? entry.since,
            },
    };
    try {
      const served = (await client.status(siteId)).custom;
      row.imperva.expirationDate =
        served?.expirationDate === undefined ? null : new Date(served.expirationDate).toISOString();
      row.imperva.inputHash = served?.inputHash ?? null;
      if (local !== undefined) {
        row.state =
          served === undefined ? 'missing' : servesCertificate(served, local.chain) ? 'current' : 'outdated';
      }
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      row.imperva.error = error.message;
      row.state = 'error';
    }
    return row;
  });
  // What the queue owes to sites the map does not name (an explicit push --site-id) is shown too.
  for (const entry of entries) {
    if (rows.some((row) => row.siteId === entry.siteId)) continue;
    rows.push({
      siteId: entry.siteId,
      names: entry.names,
      state: 'no-local-certificate',
      local: null,
      imperva: { expirationDate: null, inputHash: null, error: null },
      queued: {
        lastError: entry.lastError,
        attempts: entry.attempts,
        firstFailure: entry.firstFailure ?? entry.since,
        lastFailure: entry.lastFailure ?? entry.since,
      },
    });
  }
  const healthy = rows.every(
    (row) => (row.state === 'current' || row.state === 'no-local-certificate') && row.queued === null,
  );
  return { ...emptyReport(ctx.command), unhealthy: !healthy || uncovered, rows, data: { sites: rows } };
}

/** The status table, one line per site, then one line per problem. */
export function statusTable(rows: readonly SiteStatusRow[]): string[] {
  const cells = rows.map((row) => [
    row.siteId,
    row.names.join(','),
    row.local === null
      ? '-'
      : `${row.local.keyType} ${row.local.notAfter.slice(0, 10)} #${row.local.serial.slice(0, 12)}`,
    row.imperva.error !== null ? 'error' : (row.imperva.expirationDate?.slice(0, 10) ?? 'none'),
    row.state,
    row.queued === null
      ? '-'
      : `${row.queued.attempts} attempt${row.queued.attempts === 1 ? '' : 's'} since ${row.queued.firstFailure.slice(0, 16)}`,
  ]);
  const header = ['SITE', 'NAMES', 'LOCAL', 'IMPERVA', 'STATE', 'QUEUED'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((row) => row[column]?.length ?? 0)),
  );
  const format = (row: string[]) =>
    row
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  const problems = rows.flatMap((row) => [
    ...(row.imperva.error === null ? [] : [`site ${row.siteId}: ${row.imperva.error}`]),
    ...(row.queued === null ? [] : [`site ${row.siteId}: queued: ${row.queued.lastError}`]),
  ]);
  return [format(header), ...cells.map(format), ...problems];
}
