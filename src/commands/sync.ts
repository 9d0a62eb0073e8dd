import { readChain } from '../certificate/chain.js';
import { lineageFiles } from '../certificate/lineage.js';
import type { CertificateChain, CertificateFiles } from '../model/certificate.js';
import { describeNames, planTargets, type Want } from '../model/want.js';
import { unconfiguredLine } from '../engine/plan.js';
import { reconcile } from '../engine/reconcile.js';
import { ImpervaView } from '../engine/held.js';
import { withPeers } from '../engine/coverage.js';
import { ApiError, CertificateError, ExitCode, StateError } from '../model/errors.js';
import { emptyReport, type Report, type StaleExpiry } from '../model/report.js';
import type { RunContext } from '../run/context.js';
import { readLocal, tellLocal, warnUncovered } from '../sources/local.js';
import { Queue } from '../state/queue.js';
import type { QueueEntry } from '../state/schema.js';
import { firstByKey, groupByKey, siteKey } from '../util/by-key.js';
import { checkEdges, probeAll, type EdgeRow } from '../edge/survey.js';

export interface SyncOptions {
  /** Certbot's live folder (default: the config's liveDir). */
  liveDir: string | undefined;
  /** After the uploads, check that the edge serves what each reconciled site should (exit 1 while it does not). */
  verify?: boolean | undefined;
  /** With verify: poll until served, for at most this many seconds. */
  waitSeconds?: number | undefined;
}

/**
 * Reconciles what Imperva serves with what is on disk. For every mapped site and key type: the newest certificate
 * that covers it in the live folder or another ACME client's folder (config sources), else the certificate a queued
 * entry names. Imperva is asked what the site serves and the certificate uploaded only where that is not it; the
 * queue then holds exactly what is still owed.
 * Works from the source of truth, so a wiped stateDir loses nothing and a second sync uploads nothing.
 */
export async function sync(options: SyncOptions, ctx: RunContext): Promise<Report> {
  const { config, log } = ctx;
  // The daily timer runs sync: a fresh install stays quiet until it is configured.
  if (config.placeholders.length > 0) {
    log.info(unconfiguredLine(config));
    return emptyReport(ctx.command);
  }
  const liveDir = options.liveDir ?? config.liveDir;
  const queue = new Queue(config.stateDir, log, ctx.now, (text) => ctx.redactor.redact(text));
  let entries: QueueEntry[] = [];
  try {
    entries = await queue.entries();
  } catch (error) {
    if (!(error instanceof StateError) || error.untrusted) throw error;
    log.error(`${error.message}; syncing from ${liveDir} only`);
  }

  const report = emptyReport(ctx.command);
  // A lineage or source that could not be read may be of either key type: pruning waits for a run that read them all.
  const local = readLocal(liveDir, config);
  tellLocal(local, log);
  // Each site's certificate knows the others of its key type: one that does not cover every name is refused, naming them.
  const wants = withPeers(local.wants, local.all, config.sites);
  const unread = local.skipped.length > 0;
  const stale: Stale[] = [];
  // Every lookup by site and key type below is made once: loops over thousands of sites must not scan them all.
  const wanted = new Set(wants.map(wantKey));
  for (const entry of entries) {
    if (wanted.has(entryKey(entry))) continue;
    const want = queuedWant(entry, ctx, report);
    if (typeof want === 'string') stale.push({ entry, reason: want });
    else if (want !== undefined) {
      wants.push(want);
      wanted.add(wantKey(want));
    }
  }
  if (stale.length > 0) await dropStale(queue, stale, ctx);
  report.unhealthy = warnUncovered(liveDir, config, wants, log);
  if (wants.length === 0) {
    log.info('sync: no mapped certificate and nothing queued; nothing to do');
    return report;
  }

  // Where the last run stopped comes first: what is owed (deferred, failed or pending), the site unreached longest
  // first, then the rest. A site reached goes to the back, so over successive runs every site is reached; none
  // starves behind the others (a failed site behind ever new deferrals, as it did when every deferral came first).
  const entryOf = firstByKey(entries, entryKey);
  const rank = (want: Want) => {
    const entry = entryOf.get(wantKey(want));
    if (entry === undefined) return [1, 0] as const;
    return [0, Date.parse(entry.unreachedSince)] as const;
  };
  const ordered = wants
    .map((want, index) => ({ want, index, rank: rank(want) }))
    .sort((a, b) => a.rank[0] - b.rank[0] || a.rank[1] - b.rank[1] || a.index - b.index)
    .map((one) => one.want);

  const view = new ImpervaView(await ctx.client(), log);
  const outcome = await reconcile(ordered, ctx, {
    compare: true,
    recordIntent: false,
    deferOnDeadline: true,
    // A site the deadline has kept deferring for more than a day fails (the engine says so, queues it, onFailure),
    // and goes on failing while it is deferred; a failed site counts from its last failure.
    unreachedSince: (siteId, keyType) => entryOf.get(siteKey(siteId, keyType))?.unreachedSince,
    view,
  });
  outcome.problems.unshift(...report.problems);
  outcome.unhealthy ||= report.unhealthy;
  if (ctx.dryRun) return outcome;

  const count = (action: string) => outcome.sites.filter((site) => site.action === action).length;
  const failed = count('failed');
  const deferred = count('deferred');
  log.info(
    `sync: ${count('current')} current, ${count('uploaded')} uploaded, ${failed} failed` +
      (failed > 0 ? ` (queued in ${config.stateDir})` : '') +
      (deferred > 0 ? `, ${deferred} deferred to the next sync (the run's deadline came first)` : ''),
  );

  const delivered = new Set(
    outcome.sites
      .filter((site) => site.action === 'uploaded' || site.action === 'current')
      .map((site) => siteKey(site.siteId, site.keyType)),
  );
  const reconciled = ordered.filter((want) => delivered.has(wantKey(want)));
  const pruning = { reconciled, mine: ordered, unread };
  if (options.verify === true) {
    const edges = await checkEdges(reconciled, ctx, options.waitSeconds);
    outcome.unhealthy ||= !edges.allServed;
    outcome.expiries = edges.expiries;
    outcome.forget = await prune(pruning, edges.edges, view, ctx);
  } else if (config.pruneOtherKeyType) {
    outcome.forget = await prune(pruning, undefined, view, ctx);
  }
  return outcome;
}

/**
 * pruneOtherKeyType: a site that also holds a custom certificate of the key type this host does not deploy loses it,
 * but only once the edge has been seen serving the local one in this run, and never a key type this host has a
 * certificate of its own for. Returns what was removed (for the metrics file: its samples are no longer true).
 */
async function prune(
  wants: {
    /** What this run delivered or found current. */
    reconciled: readonly Want[];
    /** Every certificate this host has for a site, delivered or not (a failed upload is still ours). */
    mine: readonly Want[];
    /** Some lineage or source could not be read: its key type is unknown. */
    unread: boolean;
  },
  edges: readonly EdgeRow[] | undefined,
  view: ImpervaView,
  ctx: RunContext,
): Promise<StaleExpiry[]> {
  const removed: StaleExpiry[] = [];
  if (!ctx.config.pruneOtherKeyType) return removed;
  if (wants.unread) {
    ctx.log.info('not removing any other key type: a certificate on this host could not be read (see above)');
    return removed;
  }
  const bySite = groupByKey(wants.reconciled, (want) => want.siteId);
  const ours = new Set(wants.mine.map(wantKey));
  const servedOf = (rows: readonly EdgeRow[]) =>
    new Set(rows.filter((row) => row.state === 'served').map((row) => siteKey(row.siteId, row.keyType)));
  const servedEverywhere = edges === undefined ? undefined : servedOf(edges);
  for (const [siteId, mine] of bySite) {
    const held = await view.held(siteId).catch(() => undefined);
    if (held?.source !== 'v3') continue;
    const others = held.certificates.filter((entry) => !ours.has(siteKey(siteId, entry.keyType)));
    if (others.length === 0) continue;
    const seen = servedEverywhere ?? servedOf(await probeAll(mine, ctx, undefined));
    const served = mine.every((want) => seen.has(wantKey(want)));
    const names = mine[0]?.names.join(', ') ?? '';
    if (!served) {
      ctx.log.info(
        `site ${siteId} (${names}): not removing the other key type yet: the edge does not serve ours yet`,
      );
      continue;
    }
    for (const other of others) {
      try {
        await (await ctx.client()).remove(siteId, other.keyType);
        removed.push({ siteId, keyType: other.keyType });
        ctx.log.info(
          `site ${siteId} (${names}): removed the ${other.keyType} custom certificate (pruneOtherKeyType; the edge serves ours)`,
        );
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        ctx.log.error(
          `site ${siteId} (${names}): cannot remove the ${other.keyType} custom certificate: ${error.message}`,
        );
      }
    }
  }
  return removed;
}

/**
 * A queued entry is a promise about content, kept only while its source still holds what it promised: its
 * certificate is read again (a lineage's newest files win) and goes where that certificate goes now.
 * - Through the map (a lineage, a hook's files, `push` without `--site-id`): to the entry's site only while the map
 *   assigns that site to one of the certificate's names now — a name the certificate no longer has sends nothing
 *   there, and an operator who fixed a wrong id in the map does not see the old id uploaded to.
 * - `push --site-id` of a lineage: while the certificate still covers every name recorded.
 * - `push --cert F --key K --site-id N`: only the certificate recorded (by its fingerprint); files that now hold
 *   another were not named for that site.
 * - Always with the key type recorded: the site's entry is for that type, and one of the other type is a new want.
 * Returns why the entry is dropped, as a string, when it no longer holds; undefined when it could not be read.
 */
function queuedWant(entry: QueueEntry, ctx: RunContext, report: Report): Want | string | undefined {
  let files: CertificateFiles;
  let chain: CertificateChain;
  try {
    files = entry.source.lineage !== undefined ? lineageFiles(entry.source.lineage) : entry.source;
    chain = readChain(files);
  } catch (error) {
    if (!(error instanceof CertificateError)) throw error;
    const message = `site ${entry.siteId} (${entry.names.join(', ')}): queued, but ${error.message}`;
    ctx.log.error(message);
    report.problems.push({ message, exitCode: ExitCode.Certificate });
    return undefined;
  }
  const source = entry.source.lineage ?? files.cert;
  if (chain.keyType !== entry.authType) {
    return `${source} now holds an ${chain.keyType} certificate, not the ${entry.authType} one queued`;
  }
  let names: string[];
  if (entry.explicit) {
    if (entry.source.lineage === undefined && chain.fingerprint !== entry.fingerprint) {
      return `${files.cert} now holds another certificate than the one push named this site for`;
    }
    const lost = entry.names.filter((name) => !chain.names.includes(name));
    if (lost.length > 0) return `the certificate now at ${source} no longer covers ${lost.join(', ')}`;
    names = entry.names;
  } else {
    const target = planTargets(chain.names, ctx.config.sites).find((one) => one.siteId === entry.siteId);
    if (target === undefined) {
      return `the map no longer assigns it to the names of the certificate now at ${source} (${describeNames(chain.names)})`;
    }
    names = target.names;
  }
  return { siteId: entry.siteId, names, chain, files, origin: 'queue', explicit: entry.explicit };
}

interface Stale {
  entry: QueueEntry;
  reason: string;
}

/** Drops the entries whose source no longer holds what they promised: one warning each, nothing uploaded. */
async function dropStale(queue: Queue, stale: readonly Stale[], ctx: RunContext): Promise<void> {
  for (const { entry, reason } of stale) {
    ctx.log.warn(
      `site ${entry.siteId} (${entry.authType}, ${entry.names.join(', ')}): queued, but ${reason}; ` +
        `${ctx.dryRun ? 'would drop' : 'dropped'} the entry without uploading`,
    );
  }
  if (ctx.dryRun) return;
  // Only the entries judged: one a concurrent run wrote meanwhile for the same site is another promise.
  const gone = new Set(stale.map(({ entry }) => `${entryKey(entry)} ${entry.fingerprint}`));
  try {
    await queue.remove((entry) => gone.has(`${entryKey(entry)} ${entry.fingerprint}`));
  } catch (error) {
    if (!(error instanceof StateError)) throw error;
    ctx.log.error(error.message);
  }
}

function wantKey(want: Want): string {
  return siteKey(want.siteId, want.chain.keyType);
}

function entryKey(entry: QueueEntry): string {
  return siteKey(entry.siteId, entry.authType);
}
