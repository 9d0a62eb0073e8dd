import { tellOnFailure, type FailureBody } from '../notify/on-failure.js';
import type { RunContext } from '../run/context.js';
import type { Done } from './site-outcome.js';

/**
 * Hands the run's failed sites to the config's onFailure program, as one redacted JSON summary. `queued` says
 * whether sync will try them again.
 */
export async function handOffFailures(
  onFailure: readonly string[],
  failed: readonly Done[],
  ctx: RunContext,
  queued: boolean,
): Promise<void> {
  // The uploads left the run's deadline a reserve for this (config/deadline.ts).
  await tellOnFailure(onFailure, failedSites(failed, queued), ctx);
}

function failedSites(failed: readonly Done[], queued: boolean): FailureBody {
  return {
    sites: failed.map(({ ready, error }) => ({
      siteId: ready.siteId,
      names: ready.names,
      certificate: ready.files.cert,
      lineage: ready.files.lineage,
      fingerprint: ready.bundle.fingerprint,
      notAfter: ready.bundle.notAfter.toISOString(),
      error: error?.message ?? '',
      res: error?.res,
      httpStatus: error?.status,
      transient: error?.transient ?? false,
      attempts: error?.attempts ?? 1,
      queued,
    })),
  };
}
