import { resolve } from 'node:path';
import { DEFAULT_LIVE_DIR } from '../config/defaults.js';
import { refusePlaceholders } from '../config/placeholders.js';
import { type KeyType, keyTypeText } from '../model/certificate.js';
import { heldOfType, ImpervaView } from '../engine/held.js';
import { isUnknownSite } from '../imperva/errors.js';
import { removalRefusal } from '../imperva/removal.js';
import { siteFallback } from '../imperva/own-certificates.js';
import { mappedSites } from '../model/want.js';
import { UsageError } from '../model/errors.js';
import { emptyReport, type Report } from '../model/report.js';
import type { RunContext } from '../run/context.js';
import { readLocal } from '../sources/local.js';

export interface RemoveOptions {
  siteId: string;
  keyType: KeyType;
  force: boolean;
  liveDir?: string | undefined;
}

/**
 * Removes a site's custom certificate of one key type (v1 `sites/customCertificate/remove`, always with
 * `auth_type`). Without --force it refuses, sending nothing:
 * - the key type this host deploys to the site (the next sync would only upload it again, and until then the site
 *   has none);
 * - while what this host deploys is unknown: the live folder or a `sources` folder cannot be read, or a
 *   certificate in them cannot (a mistyped live folder must never remove the certificate it was meant to hold);
 * - when afterwards no unexpired certificate would cover the site's names (src/imperva/removal.ts): neither
 *   another key type's custom certificate nor Imperva's own; or Imperva's v1 answer cannot tell the key types apart.
 */
export async function remove(options: RemoveOptions, ctx: RunContext): Promise<Report> {
  const { siteId, keyType, force } = options;
  refusePlaceholders(ctx.config);
  if (!/^[1-9]\d*$/.test(siteId))
    throw new UsageError(`--site-id ${siteId}: a site id is a positive whole number`);
  const what = `the ${keyTypeText(keyType)} custom certificate of site ${siteId}`;
  const refuse = (why: string): never => {
    throw new UsageError(`not removing ${what}: ${why}; add --force to remove it anyway`);
  };
  const liveDir = resolve(options.liveDir ?? ctx.config.liveDir);
  const local = readLocal(liveDir, ctx.config);
  const mine = local.wants.find((want) => want.siteId === siteId && want.chain.keyType === keyType);
  if (mine !== undefined && !force) refuse(`this host deploys it (${mine.files.lineage ?? mine.files.cert})`);
  // A host that gets its certificates only from `sources` (lego, acme.sh) has no Certbot live folder.
  const liveOptional = liveDir === DEFAULT_LIVE_DIR && ctx.config.sources.length > 0;
  const unreadLive = liveOptional ? [] : local.notes;
  if (unreadLive.length > 0 && !force) {
    refuse(
      `the live folder cannot be read (${unreadLive.join('; ')}), so what this host deploys is unknown ` +
        '(is liveDir or --live-dir right?)',
    );
  }
  // A certificate or folder this host could not read may be the very one: its absence proves nothing.
  if (local.skipped.length > 0 && !force) {
    refuse(
      `what this host deploys is unknown: ${local.skipped[0]}${local.skipped.length > 1 ? ` (and ${local.skipped.length - 1} more)` : ''}`,
    );
  }
  const client = await ctx.client();
  const held = await new ImpervaView(client, ctx.log).held(siteId).catch(unknownSite(siteId));
  if (held.source === 'v3') {
    if (heldOfType(held, keyType) === undefined) {
      // The account-wide listing is silent about a site the account does not have: ask v1, which says 9413.
      await client.status(siteId).catch(unknownSite(siteId));
      ctx.log.info(`site ${siteId} holds no ${keyTypeText(keyType)} custom certificate; nothing to remove`);
      return emptyReport(ctx.command);
    }
    // Imperva's own certificate is asked about only when no custom certificate would be left.
    if (!force && removalRefusal(held.certificates, keyType, ctx.now()) !== undefined) {
      const names = new Set(mappedSites(ctx.config.sites).get(siteId) ?? []);
      for (const entry of held.certificates) if (entry.siteName !== undefined) names.add(entry.siteName);
      const fallback = await siteFallback(client, siteId, [...names]);
      const refusal = removalRefusal(held.certificates, keyType, ctx.now(), fallback);
      if (refusal !== undefined) refuse(refusal);
      ctx.log.info(
        `site ${siteId}: afterwards Imperva's own certificate serves its names (${[...names].join(', ')})`,
      );
    }
  } else if (!force) {
    refuse(
      "Imperva's v3 API, which tells the key types apart, is not available, so it cannot be told what would " +
        'cover the site afterwards',
    );
  }
  if (ctx.dryRun) {
    ctx.log.info(`dry run: would remove ${what}`);
    return emptyReport(ctx.command);
  }
  const { resMessage } = await client.remove(siteId, keyType).catch(unknownSite(siteId));
  ctx.log.info(`removed ${what} (Imperva: ${resMessage})`);
  return { ...emptyReport(ctx.command), forget: [{ siteId, keyType }] };
}

/** Imperva's 9413 is a wrong --site-id (or a key without access to the site): a usage error, exit 2. */
function unknownSite(siteId: string): (error: unknown) => never {
  return (error) => {
    if (isUnknownSite(error))
      throw new UsageError(
        `--site-id ${siteId}: Imperva does not know this site id, or the API key has no access to it (res 9413)`,
      );
    throw error;
  };
}
