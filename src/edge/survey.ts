import { judgeEdge, type EdgeState } from './judge.js';
import { probeEdge } from './probe.js';
import { edgeTarget } from './target.js';
import type { SiteStatus } from '../imperva/site-status.js';
import type { KeyType } from '../model/certificate.js';
import { ApiError } from '../model/errors.js';
import type { ExpirySample } from '../model/report.js';
import type { Want } from '../model/want.js';
import type { RunContext } from '../run/context.js';
import { onAbort } from '../util/abort.js';
import { mapPool } from '../util/pool.js';

/** What the edge serves each mapped site: the probing that verify, status and sync --verify share. */

/** What the edge serves one site for one key type. */
export interface EdgeRow {
  siteId: string;
  names: string[];
  keyType: KeyType;
  state: EdgeState;
  detail: string;
  /** Where the probe connected, and the SNI it sent. */
  edge: string | undefined;
  local: { fingerprint: string; notAfter: string };
  served: { fingerprint: string; notAfter: string } | undefined;
}

/** How long one handshake may take; how long between two rounds of --wait. */
const PROBE_TIMEOUT_MS = 10_000;
const POLL_MS = 2_000;

/** Probes every want, again and again for the ones not yet served while --wait allows. */
export async function probeAll(
  wants: readonly Want[],
  ctx: RunContext,
  waitSeconds: number | undefined,
): Promise<EdgeRow[]> {
  const until = ctx.now().getTime() + (waitSeconds ?? 0) * 1000;
  const statuses = new Map<string, Promise<SiteStatus | undefined>>();
  const rows = new Map<Want, EdgeRow>();
  let pending = [...wants];
  for (let round = 1; ; round += 1) {
    const results = await mapPool(pending, ctx.config.concurrency, (want) => probeOne(want, ctx, statuses));
    pending.forEach((want, index) => rows.set(want, results[index] as EdgeRow));
    pending = pending.filter((want) => rows.get(want)?.state !== 'served');
    const left = until - ctx.now().getTime();
    if (pending.length === 0 || left <= 0 || ctx.signal.aborted) break;
    ctx.log.info(
      `verify: ${wants.length - pending.length} of ${wants.length} served; waiting for ${pending.length} more ` +
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
  return wants.map((want) => rows.get(want) as EdgeRow);
}

/**
 * Probes every want (polling while --wait allows) and says what the edge serves: one line per site and key type,
 * then how many are served. The edge's expiries, for the metrics file.
 */
export async function checkEdges(
  wants: readonly Want[],
  ctx: RunContext,
  waitSeconds: number | undefined,
): Promise<{ edges: EdgeRow[]; allServed: boolean; expiries: ExpirySample[] }> {
  const edges = await probeAll(wants, ctx, waitSeconds);
  for (const row of edges) {
    const line = `site ${row.siteId} (${row.names.join(', ')}) ${row.keyType}: ${row.state}: ${row.detail}${row.edge === undefined ? '' : ` [${row.edge}]`}`;
    if (row.state === 'served') ctx.log.info(line);
    else ctx.log.error(line);
  }
  const served = edges.filter((row) => row.state === 'served').length;
  if (edges.length > 0) ctx.log.info(`verify: ${served} of ${edges.length} served`);
  const expiries = edges.flatMap((row) =>
    row.served === undefined
      ? []
      : [
          {
            siteId: row.siteId,
            keyType: row.keyType,
            source: 'edge' as const,
            notAfter: new Date(row.served.notAfter),
          },
        ],
  );
  return { edges, allServed: served === edges.length, expiries };
}

async function probeOne(
  want: Want,
  ctx: RunContext,
  statuses: Map<string, Promise<SiteStatus | undefined>>,
): Promise<EdgeRow> {
  const { chain } = want;
  const name = want.names.find((candidate) => !candidate.startsWith('*.')) ?? want.names[0] ?? '';
  const row: EdgeRow = {
    siteId: want.siteId,
    names: [...want.names],
    keyType: chain.keyType,
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
    keyType: chain.keyType,
    timeoutMs: PROBE_TIMEOUT_MS,
    lookup: ctx.lookup,
  });
  const verdict = judgeEdge({
    name,
    local: { fingerprint: chain.fingerprint, notAfter: chain.notAfter },
    probe,
  });
  row.state = verdict.state;
  row.detail = verdict.detail;
  if (!('error' in probe))
    row.served = { fingerprint: probe.leafSha256, notAfter: probe.notAfter.toISOString() };
  return row;
}
