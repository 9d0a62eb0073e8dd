/**
 * For `status`: per site, whether Imperva's own certificate would serve its names if ours were gone
 * (docs/operations.md, "The fallback"). A site without one is a note; where our own certificate there is also
 * expiring, missing or outdated, it is an outage in waiting: a problem (exit 1).
 */
import { ApiError } from '../model/errors.js';
import { keyTypeText, type KeyType } from '../model/certificate.js';
import type { Finding } from '../model/finding.js';
import type { Config } from '../config/load.js';
import type { Log } from '../log/logger.js';
import type { ImpervaClient } from './client.js';
import { mapPool } from '../util/pool.js';
import { hasFallback, indexOwn, type FallbackSource } from './own-certificates.js';

/** One row of `status`, as much as this judgement needs. */
export interface FallbackRow {
  siteId: string;
  names: readonly string[];
  keyType: KeyType | null;
  state: string;
}

/** Our certificate's states that leave the site to its fallback soon, or already. */
const AT_RISK = new Set(['expiring', 'missing', 'outdated']);

/** How many sites the note names before `and N more`. */
const NAMED = 5;

export async function fallbackFindings(
  ctx: { config: Config; log: Log; client: () => Promise<ImpervaClient> },
  rows: readonly FallbackRow[],
): Promise<Finding[]> {
  const { log } = ctx;
  const sites = new Map<string, FallbackRow[]>();
  for (const row of rows) {
    const some = sites.get(row.siteId);
    if (some === undefined) sites.set(row.siteId, [row]);
    else some.push(row);
  }
  if (sites.size === 0) return [];
  const client = await ctx.client();
  let listing;
  try {
    listing = indexOwn(await client.ownCertificates());
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    log.debug(
      `fallback: Imperva's listing of its own certificates failed (${error.message}); asking each site`,
    );
  }
  const source: FallbackSource = {
    listing,
    generated: async (siteId) => (await client.status(siteId)).generated,
  };
  const judged = await mapPool([...sites], ctx.config.concurrency, async ([siteId, some]) => {
    const names = some[0]?.names ?? [];
    return { siteId, names, some, has: await hasFallback(source, siteId, names) };
  });
  const findings: Finding[] = [];
  const noted: string[] = [];
  for (const { siteId, names, some, has } of judged) {
    const where = `site ${siteId} (${names.join(', ')})`;
    if (has === undefined) {
      log.debug(`fallback: ${where}: Imperva could not be asked for its own certificate`);
      continue;
    }
    if (has) {
      findings.push(fallback(siteId, true, `${where}: Imperva's own certificate covers its names`, null));
      continue;
    }
    const risk = some.filter((row) => AT_RISK.has(row.state));
    if (risk.length === 0) {
      noted.push(where);
      findings.push(
        fallback(
          siteId,
          true,
          `${where}: no certificate of Imperva's own covers its names: nothing serves them if ours is removed or lapses`,
          "have Imperva issue (or validate) its own certificate for the site in Imperva's console",
        ),
      );
      continue;
    }
    const ours = risk
      .map(
        (row) =>
          `${row.keyType === null ? 'our' : `our ${keyTypeText(row.keyType)}`} certificate is ${row.state}`,
      )
      .join(', ');
    const finding = fallback(
      siteId,
      false,
      `${where}: outage in waiting: ${ours}, and no certificate of Imperva's own covers its names`,
      "incap-cert sync (deliver ours); and have Imperva issue (or validate) its own certificate for the site in Imperva's console",
    );
    findings.push(finding);
    log.error(`${finding.message}; fix: ${finding.fix ?? ''}`);
  }
  if (noted.length > 0) {
    const more = noted.length > NAMED ? ` and ${noted.length - NAMED} more` : '';
    log.info(
      `note: no certificate of Imperva's own covers ${noted.length === 1 ? 'this site' : `these ${noted.length} sites`}, ` +
        `so nothing serves them if ours is removed or lapses: ${noted.slice(0, NAMED).join(', ')}${more}`,
    );
  }
  return findings;
}

function fallback(siteId: string, ok: boolean, message: string, fix: string | null): Finding {
  return { kind: 'fallback', subject: siteId, ok, message, fix };
}
