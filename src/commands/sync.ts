import { lstatSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { canaryForTimer } from '../canary/timer.js';
import { readChain } from '../certificate/chain.js';
import { timerSchedule } from '../ari/timer.js';
import { lineageFiles } from '../certificate/lineage.js';
import type { CertificateChain, CertificateFiles } from '../model/certificate.js';
import { describeNames, planTargets, type Want } from '../model/want.js';
import { unconfiguredLine } from '../engine/plan.js';
import { reconcile } from '../engine/reconcile.js';
import { heldOfType, ImpervaView, type Held } from '../engine/held.js';
import { withPeers } from '../engine/coverage.js';
import type { CertificateEntry } from '../imperva/v3-certificates.js';
import { type KeyType, keyTypeText } from '../model/certificate.js';
import { refuseUntrusted } from '../certificate/trusted.js';
import { DeliveryRecord, type Delivery } from '../state/delivery.js';
import { ApiError, CertificateError, ExitCode, StateError } from '../model/errors.js';
import { emptyReport, type Report, type StaleExpiry } from '../model/report.js';
import type { RunContext } from '../run/context.js';
import { readLocal, tellLocal, warnUncovered } from '../sources/local.js';
import { Queue } from '../state/queue.js';
import type { QueueEntry } from '../state/schema.js';
import { firstByKey, groupByKey, siteKey } from '../util/by-key.js';
import { checkEdges, probeAll, type EdgeRow } from '../edge/survey.js';
import { watchApiKey } from '../imperva/api-client-findings.js';
import { removalRefusal } from '../imperva/removal.js';

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
  const queue = Queue.ofRun(ctx);
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
    // Queued entries that were dropped or failed above are said there: "nothing queued" would contradict them.
    log.info(
      entries.length === 0
        ? 'sync: no mapped certificate and nothing queued; nothing to do'
        : 'sync: no mapped certificate and nothing queued that can be delivered; nothing to upload',
    );
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

  // The key proven before any upload: a disabled or expired key is found here, between renewals. Its record (the
  // expiry) is read after the uploads, which an unanswered read must not delay.
  const key = await watchApiKey(ctx, liveDir, { record: false });
  if (key.refused) return { ...report, unhealthy: true, apiKeyExpiry: key.expiresAt };
  const view = new ImpervaView(await ctx.client(), log);
  const record = new DeliveryRecord(config.stateDir, log, ctx.now, undefined, ctx);
  const outcome = await reconcile(ordered, ctx, {
    compare: true,
    recordIntent: false,
    deferOnDeadline: true,
    // A site the deadline has kept deferring past the deferral limit fails (the engine says so, queues it, onFailure),
    // and goes on failing while it is deferred; a failed site counts from its last failure.
    unreachedSince: (siteId, keyType) => entryOf.get(siteKey(siteId, keyType))?.unreachedSince,
    view,
    delivered: await record.read(),
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
  // What this run uploaded is in the record now.
  const deliveries = await record.read();
  let edges: EdgeRow[] | undefined;
  if (options.verify === true) {
    const checked = await checkEdges(reconciled, ctx, options.waitSeconds, deliveries);
    edges = checked.edges;
    outcome.unhealthy ||= !checked.allServed;
    outcome.expiries = checked.expiries;
  }
  const left = await leftBehind({ reconciled, mine: ordered, unread }, deliveries, view, ctx, record);
  const uploaded = new Set(
    outcome.sites
      .filter((site) => site.action === 'uploaded')
      .map((site) => siteKey(site.siteId, site.keyType)),
  );
  outcome.forget = await settleLeftBehind(left, uploaded, edges, view, ctx, record);
  if (left.length > outcome.forget.length) outcome.unhealthy = true;
  // What 429s taught this run, for the runs that follow (src/state/pace.ts).
  await ctx.pace?.save();
  outcome.lineages = await timerSchedule(liveDir, ctx);
  const expiry = await watchApiKey(ctx, liveDir, { verified: true });
  outcome.unhealthy ||= [...key.findings, ...expiry.findings].some((finding) => !finding.ok);
  outcome.apiKeyExpiry = expiry.expiresAt;
  // The renewal path through Imperva, at most once in 20 hours (src/canary/timer.ts).
  outcome.renewalPaths = await canaryForTimer(liveDir, ctx);
  return outcome;
}

/** A certificate this host uploaded to a site, of a key type it no longer deploys there (a key-type switch). */
interface LeftBehind {
  siteId: string;
  keyType: KeyType;
  delivery: Delivery;
  expires: number | undefined;
  /** What this host deploys to the site now. */
  mine: Want[];
  /** All of them delivered or current in this run. */
  reconciled: boolean;
}

/**
 * The certificates at Imperva that this host uploaded (per the delivery record, and still the one Imperva holds) of
 * a key type it no longer holds any local certificate of for that site: clients that offer only that key type keep
 * getting it until it expires. A certificate some other host or tool uploaded is not in the record and never
 * listed here. Nothing is judged when a local certificate could not be read (it may be of that key type), or where
 * Imperva shows only v1 (which cannot tell the key types apart). A record of a certificate Imperva no longer holds
 * is forgotten.
 */
async function leftBehind(
  wants: {
    /** What this run delivered or found current. */
    reconciled: readonly Want[];
    /** Every certificate this host has for a site, delivered or not (a failed upload is still ours). */
    mine: readonly Want[];
    /** Some lineage or source could not be read: its key type is unknown. */
    unread: boolean;
  },
  deliveries: ReadonlyMap<string, Delivery>,
  view: ImpervaView,
  ctx: RunContext,
  record: DeliveryRecord,
): Promise<LeftBehind[]> {
  const mineOf = groupByKey(wants.mine, (want) => want.siteId);
  const done = new Set(wants.reconciled.map(wantKey));
  const left: LeftBehind[] = [];
  const gone: { siteId: string; keyType: KeyType }[] = [];
  for (const delivery of deliveries.values()) {
    const mine = mineOf.get(delivery.siteId);
    if (mine === undefined || mine.some((want) => want.chain.keyType === delivery.keyType)) continue;
    if (wants.unread) {
      ctx.log.info(
        `site ${delivery.siteId}: not judging the ${keyTypeText(delivery.keyType)} certificate this host uploaded there: a certificate on this host could not be read (see above)`,
      );
      continue;
    }
    const held = await view.held(delivery.siteId).catch(() => undefined);
    if (held?.source !== 'v3') continue;
    const entry = heldOfType(held, delivery.keyType);
    if (entry === undefined) {
      gone.push(delivery);
      continue;
    }
    if (!isDelivered(entry, delivery)) continue;
    left.push({
      siteId: delivery.siteId,
      keyType: delivery.keyType,
      delivery,
      expires: entry.expirationDate,
      mine,
      reconciled: mine.every((want) => done.has(wantKey(want))),
    });
  }
  if (gone.length > 0 && !ctx.dryRun) await record.forget(gone);
  return left;
}

/** Whether the entry Imperva lists is the delivery recorded: by input hash, else SHA-1, else expiry. */
function isDelivered(entry: CertificateEntry, delivery: Delivery): boolean {
  if (entry.inputHash !== undefined && entry.inputHash !== '')
    return entry.inputHash === delivery.fingerprint;
  if (entry.fingerprintSha1 !== undefined) return entry.fingerprintSha1 === delivery.sha1;
  if (entry.expirationDate !== undefined) return entry.expirationDate === Date.parse(delivery.notAfter);
  // A legacy entry shows nothing to tell: the record says what this host put there.
  return true;
}

/**
 * Each certificate left behind: with pruneOtherKeyType, removed once the edge serves this host's certificates of the
 * site for every name and key type and removing it leaves the names covered; else (or until then) a warning with the
 * command that removes it. Returns what was removed (for the metrics file: its samples are no longer true).
 */
async function settleLeftBehind(
  left: readonly LeftBehind[],
  /** What this run uploaded (wantKey). */
  uploaded: ReadonlySet<string>,
  edges: readonly EdgeRow[] | undefined,
  view: ImpervaView,
  ctx: RunContext,
  record: DeliveryRecord,
): Promise<StaleExpiry[]> {
  const removed: StaleExpiry[] = [];
  for (const one of left) {
    const { siteId, keyType, mine } = one;
    const word = keyTypeText(keyType);
    const names = mine[0]?.names.join(', ') ?? '';
    const deploys = [...new Set(mine.map((want) => keyTypeText(want.chain.keyType)))].join(' and ');
    const expires = one.expires === undefined ? '' : `, expiring ${new Date(one.expires).toISOString()}`;
    const warn = (why: string) =>
      ctx.log.warn(
        `site ${siteId} (${names}): Imperva still holds the ${word} certificate this host uploaded on ${one.delivery.at}${expires}, ` +
          `but this host now deploys only ${deploys} there: clients that offer only ${word} get it${why}; ` +
          `remove it with: incap-cert remove --site-id ${siteId} --key-type ${word}`,
      );
    if (!ctx.config.pruneOtherKeyType) {
      warn('');
      continue;
    }
    const unsafe = !one.reconciled
      ? 'this run did not deliver what this host deploys there'
      : keptUncovered(await view.held(siteId).catch(() => undefined), keyType, mine, uploaded, ctx.now());
    if (unsafe !== undefined) {
      warn(` (pruneOtherKeyType: not removed: ${unsafe})`);
      continue;
    }
    const rows = edges?.filter((row) => row.siteId === siteId) ?? (await probeAll(mine, ctx, undefined));
    const served = rows.filter((row) => row.offered !== 'both').every((row) => row.state === 'served');
    if (!served) {
      warn(
        " (pruneOtherKeyType: not removed yet: the edge does not serve this host's certificate for every name yet)",
      );
      continue;
    }
    try {
      await (await ctx.client()).remove(siteId, keyType);
      removed.push({ siteId, keyType });
      await record.forget([{ siteId, keyType }]);
      ctx.log.info(
        `site ${siteId} (${names}): removed the ${word} custom certificate this host uploaded (pruneOtherKeyType; the edge serves ours)`,
      );
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      ctx.log.error(
        `site ${siteId} (${names}): cannot remove the ${word} custom certificate: ${error.message}`,
      );
    }
  }
  return removed;
}

/**
 * Why removing the other key type would leave a name of the site without an unexpired certificate at Imperva, if it
 * would: the removal rule of `remove` (src/imperva/removal.ts), with what this run uploaded counted as held (the
 * listing was read before the upload).
 */
function keptUncovered(
  held: Held | undefined,
  removing: KeyType,
  mine: readonly Want[],
  uploaded: ReadonlySet<string>,
  now: Date,
): string | undefined {
  if (held?.source !== 'v3') return 'what Imperva holds could not be read';
  const fresh = mine.filter((want) => uploaded.has(wantKey(want)));
  const entries: CertificateEntry[] = [
    ...held.certificates.filter((entry) => !fresh.some((want) => want.chain.keyType === entry.keyType)),
    ...fresh.map((want) => ({
      siteId: want.siteId,
      keyType: want.chain.keyType,
      status: 'ACTIVE',
      expirationDate: want.chain.notAfter.getTime(),
      fingerprintSha1: undefined,
      serial: undefined,
      inputHash: want.chain.fingerprint,
      mismatch: false,
    })),
  ];
  return removalRefusal(entries, removing, now);
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
    // Files named by hand are judged as push judged them, now: a file another user could write since is refused.
    if (entry.source.lineage === undefined) refuseUntrusted(files, '/');
    chain = readChain(files);
  } catch (error) {
    if (!(error instanceof CertificateError)) throw error;
    const gone = sourceGone(entry);
    if (gone !== undefined) return gone;
    const message = `site ${entry.siteId} (${entry.names.join(', ')}): queued, but ${error.message}`;
    ctx.log.error(message);
    report.problems.push({ message, exitCode: ExitCode.Certificate });
    return undefined;
  }
  const source = entry.source.lineage ?? files.cert;
  if (chain.keyType !== entry.authType) {
    return `${source} now holds an ${keyTypeText(chain.keyType)} certificate, not the ${keyTypeText(entry.authType)} one queued`;
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

/**
 * Why the entry's source is gone for good, when it is: its lineage folder (or certificate file) no longer exists while
 * the folder that held it does (`certbot delete`, a renamed lineage, files removed). Kept, it failed every sync with
 * exit 3 for ever. A folder above that is missing too (an unmounted /etc/letsencrypt) may come back: that stays an
 * error, and the entry stays.
 */
function sourceGone(entry: QueueEntry): string | undefined {
  const path = entry.source.lineage ?? entry.source.cert;
  try {
    lstatSync(path);
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return undefined;
  }
  try {
    if (!statSync(dirname(path)).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  return `${path} no longer exists (${dirname(path)} does)`;
}

interface Stale {
  entry: QueueEntry;
  reason: string;
}

/** Drops the entries whose source no longer holds what they promised: one warning each, nothing uploaded. */
async function dropStale(queue: Queue, stale: readonly Stale[], ctx: RunContext): Promise<void> {
  for (const { entry, reason } of stale) {
    ctx.log.warn(
      `site ${entry.siteId} (${keyTypeText(entry.authType)}, ${entry.names.join(', ')}): queued, but ${reason}; ` +
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
