/**
 * The renewal-path canary: for each mapped lineage renewed with http-01, a token placed where the ACME client
 * would put its challenge must come back through the site's Imperva edge. Described in docs/canary.md.
 */
import { dirname, resolve } from 'node:path';
import { lineageFiles } from '../certificate/lineage.js';
import { readChain } from '../certificate/chain.js';
import { cnameTarget } from '../edge/target.js';
import { ApiError, CertificateError } from '../model/errors.js';
import { failed, passed, type Finding } from '../model/finding.js';
import { planTargets } from '../model/want.js';
import type { RunContext } from '../run/context.js';
import { listLineages } from '../sources/live.js';
import { readRenewalConf, renewalConfPath } from '../sources/renewal-conf.js';
import { uidOf } from '../util/users.js';
import { clientLineages, ownerOf } from './client-routes.js';
import { certbotLockHeld } from './lock.js';
import { probe, type EdgeFor, type Verdict } from './probe.js';
import { certbotRoute, type Route } from './route.js';
import { placeToken, removeToken, unsafeReason, type PlacedToken } from './token.js';

export type PathVerdict = Verdict | 'not-needed' | 'cannot-pass' | 'unchecked';

/** One name's verdict; name '' when the whole lineage is judged at once (its renewal configuration). */
export interface PathCheck {
  lineage: string;
  name: string;
  verdict: PathVerdict;
  detail: string;
  advice: string | null;
  /** The run's deadline came before this name was checked: the run cannot say the paths are fine. */
  cutShort?: true;
}

/** What every output of `pass` says: a vantage point elsewhere can still be stopped by geo or bot rules. */
export const FROM_THIS_HOST =
  '`pass` means from this host: the CA asks from several other places, where geo or bot rules can still block it';

const EXEMPT =
  'exempt /.well-known/acme-challenge/ from the security rules of the site in the Imperva console (or renew with DNS-01)';

/** One name to check, and what decides how. */
interface Work {
  lineage: string;
  name: string;
  route: Route;
  siteIds: string[];
  /** Certbot's folder, whose lock keeps the canary out while Certbot runs; undefined for the other clients. */
  certbotDir: string | undefined;
  /** The ACME client's user (the owner of its folder), an accepted owner of its web roots. */
  clientOwner: { uid: number; gid: number } | undefined;
}

/** The bounds (docs/canary.md): per request, per name; the run's deadline is ctx.endsAt. */
export const REQUEST_MS = 10_000;
export const NAME_MS = 30_000;

/**
 * Checks every mapped lineage of Certbot's `liveDir` and of the config's `sources`. Token files are always removed,
 * a stop or the run's deadline included; names the deadline leaves unreached are reported as such.
 */
export async function checkRenewalPaths(liveDir: string, ctx: RunContext): Promise<PathCheck[]> {
  const { config, log } = ctx;
  const live = resolve(liveDir);
  const certbotDir = dirname(live);
  const checks: PathCheck[] = [];
  const work: Work[] = [];
  const add = (
    lineage: string,
    names: readonly string[],
    route: (name: string) => Route,
    at: Pick<Work, 'certbotDir' | 'clientOwner'>,
  ) => {
    for (const name of names) {
      if (name.startsWith('*.')) continue; // a wildcard is only ever validated with DNS-01
      work.push({ lineage, name, route: route(name), siteIds: [...(config.sites.get(name) ?? [])], ...at });
    }
  };
  const certbotOwner = ownerOf(certbotDir);
  for (const dir of listLineages(live).lineages) {
    const lineage = dir.slice(live.length + 1);
    let names: readonly string[];
    try {
      names = readChain(lineageFiles(dir)).names;
    } catch (error) {
      if (!(error instanceof CertificateError)) throw error;
      log.warn(`canary: ${lineage}: ${error.message}`);
      continue;
    }
    if (planTargets(names, config.sites).length === 0) continue;
    const read = readRenewalConf(renewalConfPath(dir), certbotDir);
    if ('problem' in read) {
      checks.push({ lineage, name: '', verdict: 'unchecked', detail: read.problem, advice: null });
      continue;
    }
    add(lineage, names, (name) => certbotRoute(read.conf, name), { certbotDir, clientOwner: certbotOwner });
  }
  for (const client of clientLineages(config)) {
    add(client.lineage, client.names, client.route, {
      certbotDir: undefined,
      clientOwner: client.clientOwner,
    });
  }

  const edges = await siteEdges(
    work.flatMap((item) => (item.route.kind === 'webroot' ? item.siteIds : [])),
    ctx,
  );
  const edgeFor: EdgeFor = (name, port) => {
    const siteId = config.sites.get(name)?.[0];
    if (siteId === undefined) return undefined; // not mapped: its own address
    const fixed = port === 80 ? config.canary.edgeHttpAddress : config.edgeAddress;
    if (fixed !== undefined) return fixed;
    const host = edges.get(siteId);
    return host === undefined ? undefined : { host, port };
  };
  const owners = config.canary.owners.flatMap((user) => {
    const uid = uidOf(user);
    if (uid === undefined) log.warn(`canary: canaryOwners names ${user}, who is no user on this host`);
    return uid === undefined ? [] : [uid];
  });

  // The run's deadline (deadlineSeconds) ends the name being asked and leaves the rest unreached.
  const deadline = AbortSignal.timeout(Math.max(0, ctx.endsAt - ctx.now().getTime()));
  for (const item of work) {
    if (ctx.signal.aborted) break;
    if (deadline.aborted) {
      checks.push({ ...unreached(item), detail: "not reached before the run's deadline (deadlineSeconds)" });
      continue;
    }
    checks.push(await checkName(item, { owners, edgeFor, ctx, deadline }));
  }
  return checks;
}

function unreached(item: Work): PathCheck {
  return {
    lineage: item.lineage,
    name: item.name,
    verdict: 'unchecked',
    detail: '',
    advice: 'give the run more time (deadlineSeconds), or see why the edge is slow to answer',
    cutShort: true,
  };
}

async function checkName(
  item: Work,
  at: { owners: number[]; edgeFor: EdgeFor; ctx: RunContext; deadline: AbortSignal },
): Promise<PathCheck> {
  const { lineage, name, route } = item;
  if (route.kind !== 'webroot') {
    return {
      lineage,
      name,
      verdict: route.kind,
      detail: route.reason,
      advice:
        route.kind === 'cannot-pass'
          ? 'renew with http-01 on port 80 through the site, or with DNS-01'
          : null,
    };
  }
  if (item.certbotDir !== undefined && certbotLockHeld(item.certbotDir)) {
    return {
      lineage,
      name,
      verdict: 'unchecked',
      detail: 'Certbot is running (it holds .certbot.lock)',
      advice: null,
    };
  }
  const owners = item.clientOwner === undefined ? at.owners : [...at.owners, item.clientOwner.uid];
  const unsafe = unsafeReason(route.root, route.folder, owners, 'canaryOwners');
  if (unsafe !== undefined) {
    return { lineage, name, verdict: 'unchecked', detail: `refused to write there: ${unsafe}`, advice: null };
  }
  let placed: PlacedToken;
  try {
    placed = placeToken(route.root, route.folder, undefined, item.clientOwner);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    return {
      lineage,
      name,
      verdict: 'unchecked',
      detail: `cannot write a token in ${route.folder} (${code})`,
      advice: null,
    };
  }
  try {
    const result = await probe(name, placed.token, {
      edgeFor: at.edgeFor,
      signal: AbortSignal.any([at.ctx.signal, at.deadline]),
      requestMs: REQUEST_MS,
      nameMs: NAME_MS,
    });
    if (at.deadline.aborted && !at.ctx.signal.aborted && result.verdict === 'unreachable') {
      return { ...unreached(item), detail: "the run's deadline (deadlineSeconds) came while it was asked" };
    }
    const advice =
      result.verdict === 'blocked'
        ? EXEMPT
        : result.verdict === 'redirected'
          ? 'let /.well-known/acme-challenge/ answer on http, or redirect it only to http:80 or https:443 keeping the path'
          : result.verdict === 'not-found'
            ? `serve ${route.root} as the site's web root for /.well-known/acme-challenge/, or fix the client's web root`
            : result.verdict === 'unreachable'
              ? `make ${name} answer on port 80 through its Imperva edge`
              : null;
    return { lineage, name, verdict: result.verdict, detail: result.detail, advice };
  } finally {
    removeToken(placed);
  }
}

/** Each site's edge host (its CNAME target in `sites/status`), asked once a site; skipped when config overrides it. */
async function siteEdges(siteIds: readonly string[], ctx: RunContext): Promise<Map<string, string>> {
  const edges = new Map<string, string>();
  if (ctx.config.canary.edgeHttpAddress !== undefined || siteIds.length === 0) return edges;
  const client = await ctx.client();
  for (const siteId of new Set(siteIds)) {
    try {
      const status = await client.status(siteId);
      const dns = status.dns.map((record) => ({
        dns_record_name: record.name,
        set_type_to: record.type,
        set_data_to: record.targets,
      }));
      const host = cnameTarget(dns, status.domain ?? '');
      if (host !== undefined) edges.set(siteId, host);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      ctx.log.debug(
        `canary: site ${siteId}: cannot read its DNS records (${error.message}); asking its names`,
      );
    }
  }
  return edges;
}

/** The checks as findings (src/model/finding.ts): not-needed and unchecked are ok, they are not checks. */
export function pathFindings(checks: readonly PathCheck[]): Finding[] {
  return checks.map((check) => {
    const subject = check.name === '' ? check.lineage : `${check.lineage} ${check.name}`;
    const what = check.name === '' ? `lineage ${check.lineage}` : `${check.name} (lineage ${check.lineage})`;
    const message = `renewal path of ${what}: ${check.verdict}: ${check.detail}`;
    const bad =
      check.cutShort === true ||
      (check.verdict !== 'pass' && check.verdict !== 'not-needed' && check.verdict !== 'unchecked');
    return bad
      ? failed('renewal-path', subject, message, check.advice ?? 'see docs/canary.md')
      : passed('renewal-path', subject, message);
  });
}
