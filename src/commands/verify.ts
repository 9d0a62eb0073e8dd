import { refusePlaceholders } from '../config/placeholders.js';
import type { Want } from '../model/want.js';
import { ImpervaView, judgeHeld, warnLeftover } from '../engine/held.js';
import { checkEdges, type EdgeRow } from '../edge/survey.js';
import { emptyReport, type Report } from '../model/report.js';
import type { RunContext } from '../run/context.js';
import { localWants, warnUncovered } from '../sources/local.js';
import { keyTypeText } from '../model/certificate.js';
import { DeliveryRecord, deliveryKey, type Delivery } from '../state/delivery.js';

export interface VerifyOptions {
  liveDir: string | undefined;
  /** Poll until every site is served, for at most this many seconds. */
  waitSeconds: number | undefined;
  /** Only these (sync --verify: the sites it uploaded to). */
  wants?: readonly Want[] | undefined;
}

export interface VerifyReport extends Report {
  edges: EdgeRow[];
}

/**
 * For each mapped site with a local certificate, for every name mapped to it: a TLS handshake with the edge per key
 * type this host deploys there (offering only that type's signature algorithms; the served leaf compared with the
 * local one), and one offering both, as a browser does (served when it gets one of this host's certificates for the
 * site). Exit 0 only when every one is served, or pending (uploaded less than an hour ago, per the delivery record),
 * and Imperva flags none of this host's certificates there (as status and sync judge it: the listing, and the flags
 * of this host's own upload in the delivery record); --wait polls until then or the time is up.
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
  const delivered = await new DeliveryRecord(config.stateDir, log, ctx.now).read();
  const { edges, allServed, expiries } = await checkEdges(wants, ctx, options.waitSeconds, delivered);
  // sync --verify has judged Imperva's listing already (a flagged site fails there): only a hand-run verify reads it.
  const flagged = options.wants === undefined ? await reviewImperva(wants, delivered, ctx) : false;
  return {
    ...emptyReport(ctx.command),
    unhealthy: uncovered || !allServed || flagged,
    edges,
    data: { edges },
    expiries,
    ...(options.wants === undefined ? { replaceSources: ['edge' as const] } : {}),
  };
}

/**
 * What Imperva's listing says of each site (one v3 listing for the account, where it answers): the other key type
 * left behind, as status says it; and a certificate of this host's that Imperva flags (coverageError,
 * hostnameMismatchError, chainError, v3 hasMismatchSite), an error as in status and sync: the edge may serve it, but
 * Imperva says it does not cover the site or its chain is broken. Whether any is flagged.
 */
async function reviewImperva(
  wants: readonly Want[],
  delivered: ReadonlyMap<string, Delivery>,
  ctx: RunContext,
): Promise<boolean> {
  const view = new ImpervaView(await ctx.client(), ctx.log);
  const bySite = new Map<string, Want[]>();
  for (const want of wants) bySite.set(want.siteId, [...(bySite.get(want.siteId) ?? []), want]);
  let flagged = false;
  for (const [siteId, local] of bySite) {
    const held = await view.held(siteId).catch(() => undefined);
    warnLeftover(siteId, local[0]?.names ?? [], local, held, ctx.log);
    if (held === undefined) continue;
    for (const want of local) {
      const judged = judgeHeld(held, want, delivered.get(deliveryKey(siteId, want.chain.keyType)));
      if (typeof judged === 'string') continue;
      flagged = true;
      ctx.log.error(
        `site ${siteId} (${want.names.join(', ')}) ${keyTypeText(want.chain.keyType)}: flagged: ${judged.message}`,
      );
    }
  }
  return flagged;
}
