import { refusePlaceholders } from '../config/placeholders.js';
import type { KeyType } from '../model/certificate.js';
import { heldOfType, ImpervaView } from '../engine/held.js';
import { isUnknownSite } from '../imperva/errors.js';
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
 * Removes a site's custom certificate of one key type (v1 `sites/customCertificate/remove`). Without --force it
 * refuses, sending no removal, the key type this host deploys to the site (the next sync would only upload it
 * again, and until then the site has none) and the site's only custom certificate (the site would fall back to
 * Imperva's own, if it still has one).
 */
export async function remove(options: RemoveOptions, ctx: RunContext): Promise<Report> {
  const { siteId, keyType, force } = options;
  refusePlaceholders(ctx.config);
  if (!/^[1-9]\d*$/.test(siteId))
    throw new UsageError(`--site-id ${siteId}: a site id is a positive whole number`);
  const what = `the ${keyType} custom certificate of site ${siteId}`;
  const local = readLocal(options.liveDir ?? ctx.config.liveDir, ctx.config);
  const mine = local.wants.find((want) => want.siteId === siteId && want.chain.keyType === keyType);
  if (mine !== undefined && !force) {
    throw new UsageError(
      `not removing ${what}: this host deploys it (${mine.files.lineage ?? mine.files.cert}); add --force to remove it anyway`,
    );
  }
  // A certificate this host could not read may be the very one: as with pruning, its absence proves nothing.
  if (local.skipped.length > 0 && !force) {
    throw new UsageError(
      `not removing ${what}: a certificate on this host could not be read, and it may be of this key type (see incap-cert check); add --force to remove it anyway`,
    );
  }
  const client = await ctx.client();
  const held = await new ImpervaView(client, ctx.log).held(siteId).catch(unknownSite(siteId));
  if (held.source === 'v3') {
    if (heldOfType(held, keyType) === undefined) {
      // The account-wide listing is silent about a site the account does not have: ask v1, which says 9413.
      await client.status(siteId).catch(unknownSite(siteId));
      ctx.log.info(`site ${siteId} holds no ${keyType} custom certificate; nothing to remove`);
      return emptyReport(ctx.command);
    }
    if (held.certificates.length === 1 && !force) {
      throw new UsageError(
        `not removing ${what}: it is the site's only custom certificate (the site would fall back to Imperva's own, if it has one); add --force to remove it anyway`,
      );
    }
  } else if (!force) {
    throw new UsageError(
      `not removing ${what}: Imperva's v3 API, which tells the key types apart, is not available, so it cannot be ` +
        "told whether this is the site's only custom certificate; add --force to remove it anyway",
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
