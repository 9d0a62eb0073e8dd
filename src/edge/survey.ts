import { judgeBoth, judgeEdge, type EdgeState } from './judge.js';
import { pendingGraceMs } from '../certificate/expiry.js';
import { probeEdge } from './probe.js';
import { edgeTarget } from './target.js';
import type { SiteStatus } from '../imperva/site-status.js';
import { keyTypeText, type KeyType } from '../model/certificate.js';
import { ApiError } from '../model/errors.js';
import type { ExpirySample } from '../model/report.js';
import { mappedSites, type Want } from '../model/want.js';
import { deliveryKey, type Delivery } from '../state/delivery.js';
import { groupByKey } from '../util/by-key.js';
import type { RunContext } from '../run/context.js';
import { onAbort } from '../util/abort.js';
import { mapPool } from '../util/pool.js';

/** What the edge serves each mapped site: the probing that verify, status and sync --verify share. */

/** What the edge serves one site for one name and one key type (or a client offering both). */
export interface EdgeRow {
  siteId: string;
  names: string[];
  /** The name probed (the SNI, unless it is a wildcard: then the site's domain). */
  name: string;
  keyType: KeyType;
  /**
   * What the probe offered: `keyType` alone, judged against this host's certificate of that type; or both key
   * types, as browsers do, judged against every certificate this host deploys to the site (then `keyType` is the
   * first of them, for grouping).
   */
  offered: KeyType | 'both';
  state: EdgeState;
  detail: string;
  /** Where the probe connected, and the SNI it sent. */
  edge: string | undefined;
  local: { fingerprint: string; notAfter: string };
  served: { fingerprint: string; notBefore: string; notAfter: string } | undefined;
}

/** One handshake to make: a want's name, offering its key type or both. */
interface Probe {
  want: Want;
  name: string;
  offered: KeyType | 'both';
  /** With `both`: every certificate this host deploys to the site. */
  ours: { keyType: KeyType; fingerprint: string; notAfter: Date; names: readonly string[] }[];
  /** With `both`: the SHA-256 of the certificates this host uploaded there before (the delivery record). */
  earlier: string[];
}

/** How long one handshake may take; how long between two rounds of --wait. */
const PROBE_TIMEOUT_MS = 10_000;
const POLL_MS = 2_000;

/**
 * The handshakes that say what clients get: every name mapped to each site (the want's own names for a site the
 * map does not name), once per key type this host deploys there and once offering both, as a browser does.
 */
function probesOf(
  wants: readonly Want[],
  ctx: RunContext,
  delivered: ReadonlyMap<string, Delivery>,
  browsers: boolean,
): Probe[] {
  const mapped = mappedSites(ctx.config.sites);
  const bySite = groupByKey(wants, (want) => want.siteId);
  const probes: Probe[] = [];
  for (const [siteId, mine] of bySite) {
    const first = mine[0];
    if (first === undefined) continue;
    const names = [...new Set(mapped.get(siteId) ?? mine.flatMap((want) => want.names))];
    for (const want of mine) {
      for (const name of names)
        probes.push({ want, name, offered: want.chain.keyType, ours: [], earlier: [] });
    }
    const ours = mine.map(({ chain }) => ({
      keyType: chain.keyType,
      fingerprint: chain.fingerprint,
      notAfter: chain.notAfter,
      names: chain.names,
    }));
    const earlier = (['RSA', 'ECC'] as const).flatMap((type) => {
      const fingerprint = delivered.get(deliveryKey(siteId, type))?.fingerprint;
      return fingerprint === undefined || ours.some((one) => one.fingerprint === fingerprint)
        ? []
        : [fingerprint];
    });
    if (browsers)
      for (const name of names) probes.push({ want: first, name, offered: 'both', ours, earlier });
  }
  return probes;
}

/** Probes every want's names (per key type; with `browsers`, also offering both), again and again for the ones not yet served while --wait allows. */
export async function probeAll(
  wants: readonly Want[],
  ctx: RunContext,
  waitSeconds: number | undefined,
  delivered: ReadonlyMap<string, Delivery> = new Map(),
  /** Also probe offering both key types, as browsers do (verify, sync --verify). */
  browsers = false,
): Promise<EdgeRow[]> {
  const until = ctx.now().getTime() + (waitSeconds ?? 0) * 1000;
  const statuses = new Map<string, Promise<SiteStatus | undefined>>();
  const probes = probesOf(wants, ctx, delivered, browsers);
  const rows = new Map<Probe, EdgeRow>();
  let pending = [...probes];
  for (let round = 1; ; round += 1) {
    const results = await mapPool(pending, ctx.config.concurrency, (probe) => probeOne(probe, ctx, statuses));
    pending.forEach((probe, index) => rows.set(probe, results[index] as EdgeRow));
    pending = pending.filter((probe) => rows.get(probe)?.state !== 'served');
    const left = until - ctx.now().getTime();
    if (pending.length === 0 || left <= 0 || ctx.signal.aborted) break;
    ctx.log.info(
      `verify: ${probes.length - pending.length} of ${probes.length} served; waiting for ${pending.length} more ` +
        `(${Math.ceil(left / 1000)} s left, round ${round})`,
    );
    // A stop (SIGTERM, ^C) ends the wait at once: the run reports what it saw rather than being cut off.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(POLL_MS, left));
      const stopWatching = onAbort(ctx.signal, done);
      function done(): void {
        clearTimeout(timer);
        stopWatching();
        resolve();
      }
    });
  }
  return probes.map((probe) => rows.get(probe) as EdgeRow);
}

/**
 * Probes every want (polling while --wait allows) and says what the edge serves: one line per site, name and key
 * type, then how many are served. A site this host uploaded to within the verify grace (the delivery record's time;
 * a hundredth of the certificate's lifetime, at least 1 hour: pendingGraceMs) that the edge does not serve yet is
 * `pending`, which is no failure. The edge's expiries, for the metrics file.
 */
export async function checkEdges(
  wants: readonly Want[],
  ctx: RunContext,
  waitSeconds: number | undefined,
  delivered: ReadonlyMap<string, Delivery> = new Map(),
): Promise<{ edges: EdgeRow[]; allServed: boolean; expiries: ExpirySample[] }> {
  const edges = await probeAll(wants, ctx, waitSeconds, delivered, true);
  const now = ctx.now().getTime();
  const chains = new Map(wants.map(({ siteId, chain }) => [deliveryKey(siteId, chain.keyType), chain]));
  const recent = (siteId: string, keyType: KeyType): string | undefined => {
    const key = deliveryKey(siteId, keyType);
    const delivery = delivered.get(key);
    const chain = chains.get(key);
    // The grace is for what was uploaded: a newer local certificate never sent is not on its way to the edge.
    if (delivery === undefined || chain === undefined || delivery.fingerprint !== chain.fingerprint)
      return undefined;
    const at = delivery.at;
    const age = now - Date.parse(at);
    return age >= 0 && age < pendingGraceMs(new Date(chain.leaf.validFrom), chain.notAfter) ? at : undefined;
  };
  for (const row of edges) {
    if (row.state === 'served') continue;
    const at =
      row.offered === 'both'
        ? (recent(row.siteId, 'RSA') ?? recent(row.siteId, 'ECC'))
        : recent(row.siteId, row.keyType);
    if (at === undefined) continue;
    row.detail = `uploaded at ${at}, not served yet: ${row.detail}`;
    row.state = 'pending';
  }
  for (const row of edges) {
    const offered = row.offered === 'both' ? 'RSA+ECDSA' : keyTypeText(row.keyType);
    const line = `site ${row.siteId} (${row.name}) ${offered}: ${row.state}: ${row.detail}${row.edge === undefined ? '' : ` [${row.edge}]`}`;
    if (row.state === 'served' || row.state === 'pending') ctx.log.info(line);
    else ctx.log.error(line);
  }
  const served = edges.filter((row) => row.state === 'served').length;
  const waiting = edges.filter((row) => row.state === 'pending').length;
  if (edges.length > 0) {
    ctx.log.info(
      `verify: ${served} of ${edges.length} served` +
        (waiting === 0 ? '' : `, ${waiting} pending (uploaded within the verify grace)`),
    );
  }
  // One sample per site and key type: what a client of that key type gets for the site's first name.
  const sampled = new Set<string>();
  const expiries: ExpirySample[] = [];
  for (const row of edges) {
    const key = deliveryKey(row.siteId, row.keyType);
    if (row.offered === 'both' || row.served === undefined || sampled.has(key)) continue;
    sampled.add(key);
    expiries.push({
      siteId: row.siteId,
      keyType: row.keyType,
      source: 'edge',
      notAfter: new Date(row.served.notAfter),
    });
  }
  return { edges, allServed: served + waiting === edges.length, expiries };
}

async function probeOne(
  { want, name, offered, ours, earlier }: Probe,
  ctx: RunContext,
  statuses: Map<string, Promise<SiteStatus | undefined>>,
): Promise<EdgeRow> {
  const { chain } = want;
  const row: EdgeRow = {
    siteId: want.siteId,
    names: [...want.names],
    name,
    keyType: chain.keyType,
    offered,
    state: 'unreachable',
    detail: '',
    edge: undefined,
    local: { fingerprint: chain.fingerprint, notAfter: chain.notAfter.toISOString() },
    served: undefined,
  };
  // Imperva says where the site's edge is (its CNAME target) and, for a wildcard, which name to send.
  const needsStatus = ctx.config.edgeAddress === undefined || name.startsWith('*.');
  let status: SiteStatus | undefined;
  if (needsStatus) {
    let asked = statuses.get(want.siteId);
    if (asked === undefined) {
      asked = ctx
        .client()
        .then((client) => client.status(want.siteId))
        .catch((error: unknown) => {
          if (!(error instanceof ApiError)) throw error;
          ctx.log.debug(
            `site ${want.siteId}: cannot read its DNS records (${error.message}); probing ${name}`,
          );
          return undefined;
        });
      statuses.set(want.siteId, asked);
    }
    status = await asked;
  }
  const target = edgeTarget({
    name,
    domain: status?.domain,
    edgeAddress: ctx.config.edgeAddress,
    dns: status?.dns.map((record) => ({
      dns_record_name: record.name,
      set_type_to: record.type,
      set_data_to: record.targets,
    })),
  });
  if ('error' in target) {
    row.detail = target.error;
    return row;
  }
  // An IPv6 address in brackets, as in edgeAddress: `::1:443` would read as another address.
  row.edge = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port} SNI ${target.servername}`;
  const probe = await probeEdge({
    host: target.host,
    port: target.port,
    servername: target.servername,
    keyType: offered,
    timeoutMs: PROBE_TIMEOUT_MS,
    lookup: ctx.lookup,
  });
  const verdict =
    offered === 'both'
      ? judgeBoth(probe, name, ours, earlier)
      : judgeEdge({
          name,
          local: { fingerprint: chain.fingerprint, notAfter: chain.notAfter, names: chain.names },
          probe,
        });
  row.state = verdict.state;
  row.detail = verdict.detail;
  if (!('error' in probe))
    row.served = {
      fingerprint: probe.leafSha256,
      notBefore: probe.notBefore.toISOString(),
      notAfter: probe.notAfter.toISOString(),
    };
  return row;
}
