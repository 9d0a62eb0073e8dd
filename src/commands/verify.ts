import { refusePlaceholders } from '../config/placeholders.js';
import type { KeyType } from '../certificate/key.js';
import type { Want } from '../engine/plan.js';
import { ImpervaView, warnLeftover } from '../engine/held.js';
import { judgeEdge, type EdgeState } from '../edge/judge.js';
import { probeEdge } from '../edge/probe.js';
import { edgeTarget } from '../edge/target.js';
import { ApiError } from '../errors.js';
import type { SiteStatus } from '../imperva/site-status.js';
import { emptyReport, type Report } from '../report.js';
import type { RunContext } from '../run/context.js';
import { localWants, warnUncovered } from '../sources/local.js';
import { mapPool } from '../util/pool.js';
import { onAbort } from '../util/abort.js';

export interface VerifyOptions {
  liveDir: string | undefined;
  /** Poll until every site is served, for at most this many seconds. */
  waitSeconds: number | undefined;
  /** Only these (sync --verify: the sites it uploaded to). */
  wants?: readonly Want[] | undefined;
}

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

export interface VerifyReport extends Report {
  edges: EdgeRow[];
}

/** How long one handshake may take; how long between two rounds of --wait. */
const PROBE_TIMEOUT_MS = 10_000;
const POLL_MS = 2_000;

/**
 * For each mapped site (and key type) with a local certificate: a TLS handshake with the edge, SNI set to the
 * site's name, offering only that key type's signature algorithms, and the served leaf compared with the local one.
 * Exit 0 only when every one is served; --wait polls until then or the time is up.
 */
export async function verify(options: VerifyOptions, ctx: RunContext): Promise<VerifyReport> {
  const { config, log } = ctx;
  refusePlaceholders(config);
  const liveDir = options.liveDir ?? config.liveDir;
  let uncovered = false;
  let wants = options.wants;
  if (wants === undefined) {
    wants = localWants(liveDir, config, log);
    uncovered = warnUncovered(liveDir, config, wants, log);
  }
  const edges = await probeAll(wants, ctx, options.waitSeconds);
  if (options.wants === undefined) await warnLeftovers(wants, ctx);
  for (const row of edges) {
    const line = `site ${row.siteId} (${row.names.join(', ')}) ${row.keyType}: ${row.state}: ${row.detail}${row.edge === undefined ? '' : ` [${row.edge}]`}`;
    if (row.state === 'served') log.info(line);
    else log.error(line);
  }
  const served = edges.filter((row) => row.state === 'served').length;
  if (edges.length > 0) log.info(`verify: ${served} of ${edges.length} served`);
  return {
    ...emptyReport(ctx.command),
    unhealthy: uncovered || served < edges.length,
    edges,
    data: { edges },
    expiries: edges.flatMap((row) =>
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
    ),
    ...(options.wants === undefined ? { replaceSources: ['edge' as const] } : {}),
  };
}

/** The other key type left behind at Imperva, as status says it (one v3 listing for the account, where it answers). */
async function warnLeftovers(wants: readonly Want[], ctx: RunContext): Promise<void> {
  const view = new ImpervaView(await ctx.client(), ctx.log);
  const bySite = new Map<string, Want[]>();
  for (const want of wants) bySite.set(want.siteId, [...(bySite.get(want.siteId) ?? []), want]);
  for (const [siteId, local] of bySite) {
    const held = await view.held(siteId).catch(() => undefined);
    warnLeftover(siteId, local[0]?.names ?? [], local, held, ctx.log);
  }
}

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
