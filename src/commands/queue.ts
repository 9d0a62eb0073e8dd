import { keyTypeText } from '../model/certificate.js';
import { UsageError } from '../model/errors.js';
import { emptyReport, type Report } from '../model/report.js';
import type { RunContext } from '../run/context.js';
import { Queue } from '../state/queue.js';
import type { QueueEntry } from '../state/schema.js';
import { formatTable } from '../util/table.js';

export interface QueueReport extends Report {
  entries: QueueEntry[];
}

function openQueue(ctx: RunContext): Queue {
  return Queue.ofRun(ctx);
}

/** What the retry queue still owes: site, key type, names, source, since, attempts, last error. */
export async function queueList(ctx: RunContext): Promise<QueueReport> {
  const entries = await openQueue(ctx).entries();
  return { ...emptyReport(ctx.command), entries, data: { entries } };
}

export interface DropOptions {
  siteIds: string[] | undefined;
  all: boolean;
}

/** Drops entries: those of the named sites, or all. */
export async function queueDrop(options: DropOptions, ctx: RunContext): Promise<QueueReport> {
  const siteIds = options.siteIds ?? [];
  if (options.all === siteIds.length > 0) {
    throw new UsageError('queue drop takes --site-id ID (repeatable) or --all; see incap-cert queue --help');
  }
  for (const id of siteIds) {
    if (!/^[1-9]\d*$/.test(id)) throw new UsageError(`--site-id ${id}: a site id is a positive whole number`);
  }
  const queue = openQueue(ctx);
  const picked = (entry: QueueEntry) => options.all || siteIds.includes(entry.siteId);
  const dropped = ctx.dryRun ? (await queue.entries()).filter(picked) : await queue.remove(picked);
  for (const entry of dropped) {
    ctx.log.info(
      `${ctx.dryRun ? 'would drop' : 'dropped'} site ${entry.siteId} (${keyTypeText(entry.authType)}, ${entry.names.join(', ')}), owed since ${entry.since}`,
    );
  }
  if (dropped.length === 0) ctx.log.info('nothing queued for that; nothing dropped');
  return { ...emptyReport(ctx.command), entries: dropped, data: { dropped } };
}

/** The queue as a table, times with their zone. */
export function queueTable(entries: readonly QueueEntry[]): string[] {
  if (entries.length === 0) return ['the retry queue is empty'];
  const header = ['SITE', 'KEY', 'NAMES', 'STATE', 'SINCE', 'ATTEMPTS', 'SOURCE'];
  const rows = entries.map((entry) => [
    entry.siteId,
    entry.authType,
    entry.names.join(','),
    entry.state,
    entry.since,
    String(entry.attempts),
    entry.source.lineage ?? entry.source.cert,
  ]);
  return [
    ...formatTable(header, rows),
    ...entries
      .filter((entry) => entry.lastError !== '')
      .map(
        (entry) => `site ${entry.siteId} (${keyTypeText(entry.authType)}): last error: ${entry.lastError}`,
      ),
  ];
}
