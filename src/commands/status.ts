import type { Argv, CommandModule } from 'yargs';
import { ApiError, ExitCode } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { mapPool } from '../imperva/limiter.js';
import { mappedSites } from '../push/plan.js';
import { Queue, QueueError, type QueueEntry } from '../state/queue.js';
import { localCertificates, servesCertificate } from '../sync/local.js';
import { liveDirOption, openRun, type Deps, type GlobalFlags } from './context.js';

export interface StatusFlags extends GlobalFlags {
  'live-dir': string | undefined;
  json: boolean;
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

/** One row per mapped site: the local certificate, what Imperva serves, and any queued failure. */
export async function status(flags: StatusFlags, deps: Deps, logger: Logger): Promise<ExitCode> {
  const ctx = openRun('status', flags, deps, logger);
  const { config } = ctx;
  let entries: QueueEntry[] = [];
  try {
    entries = await new Queue(config.stateDir, logger, ctx.now).entries();
  } catch (error) {
    if (!(error instanceof QueueError)) throw error;
    logger.warn(error.message);
  }
  const locals = localCertificates(flags['live-dir'] ?? config.liveDir, config.sites, logger);
  const client = await ctx.client();
  const rows = await mapPool([...mappedSites(config.sites)], config.concurrency, async ([siteId, names]) => {
    const local = locals.get(siteId);
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
              firstFailure: entry.firstFailure,
              lastFailure: entry.lastFailure,
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

  if (flags.json) logger.info(JSON.stringify({ sites: rows }));
  else for (const line of table(rows)) logger.info(line);
  const healthy = rows.every(
    (row) => (row.state === 'current' || row.state === 'no-local-certificate') && row.queued === null,
  );
  return healthy ? ExitCode.Ok : ExitCode.SiteFailed;
}

function table(rows: readonly SiteStatusRow[]): string[] {
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

export function statusCommand(
  deps: Deps,
  logger: Logger,
  done: (code: ExitCode) => void,
): CommandModule<GlobalFlags, StatusFlags> {
  return {
    command: 'status',
    describe: 'One row per mapped site: local certificate, what Imperva serves, queued failures',
    builder: (yargs: Argv<GlobalFlags>) =>
      yargs.option('live-dir', liveDirOption).option('json', {
        type: 'boolean',
        default: false,
        describe: 'Print JSON, for monitoring',
      }) as unknown as Argv<StatusFlags>,
    handler: async (argv) => done(await status(argv, deps, logger)),
  };
}
