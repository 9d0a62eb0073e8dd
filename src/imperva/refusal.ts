import { ApiError } from '../model/errors.js';
import { REFUSAL_FIXES } from './envelope.js';
import { FlaggedUpload } from './errors.js';

/** How many sites a refusal's line names before `and N more`. */
const SITES_NAMED = 5;

/**
 * The refusals only the operator can mend (docs/imperva-api.md, "`res` codes"): 4205, 9413, 9414, 9415, and an
 * upload Imperva flags for coverage or chain. Each has one cause for every site it hits: the key they are grouped
 * by, and the words that name the cause and the fix. Undefined for any other failure.
 */
export function refusalOf(error: unknown): { key: string; cause: string } | undefined {
  if (error instanceof FlaggedUpload) {
    return error.uncovered !== undefined
      ? {
          key: 'coverage',
          cause:
            "Imperva stored the certificate but flags it as not covering the site's names (coverageError): " +
            'issue a certificate for every name mapped to the site (certbot certonly --cert-name NAME -d … --expand), ' +
            'or change the sites map',
        }
      : {
          key: 'chain',
          cause:
            'Imperva stored the certificate but flags its chain as incomplete or out of order (chainError): ' +
            'upload the full chain (fullchain.pem)',
        };
  }
  if (error instanceof ApiError && error.res !== undefined && REFUSAL_FIXES[error.res] !== undefined)
    return {
      key: `res ${error.res}`,
      cause: `Imperva answered res ${error.res} (${REFUSAL_FIXES[error.res]})`,
    };
  return undefined;
}

/**
 * One line per cause for the sites a refusal hit, in their order: a lone site keeps its own line (`where: upload
 * failed: message`); several are counted, the first SITES_NAMED named, then `and N more` (each site has its own
 * line at debug level, with --verbose).
 */
export function refusalLines(
  failed: readonly { where: string; error: unknown }[],
  queued: boolean,
): string[] {
  const groups = new Map<string, { cause: string; sites: { where: string; error: unknown }[] }>();
  for (const one of failed) {
    const refusal = refusalOf(one.error);
    if (refusal === undefined) continue;
    const group = groups.get(refusal.key) ?? { cause: refusal.cause, sites: [] };
    group.sites.push(one);
    groups.set(refusal.key, group);
  }
  const after = queued ? '; queued for sync' : '';
  return [...groups.values()].map(({ cause, sites }) => {
    const [first] = sites;
    if (sites.length === 1 && first !== undefined)
      return `${first.where}: upload failed: ${(first.error as Error).message}`;
    const named = sites.slice(0, SITES_NAMED).map((site) => site.where);
    const more = sites.length > SITES_NAMED ? ` and ${sites.length - SITES_NAMED} more` : '';
    return `upload failed for ${sites.length} sites: ${cause}: ${named.join(', ')}${more}${after}`;
  });
}
