import { hostname } from 'node:os';
import { ON_FAILURE_TIMEOUT_MS, runOnFailure, type FailureSummary } from '../notify/on-failure.js';
import type { RunContext } from '../run/context.js';
import { VERSION } from '../util/version.js';
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
  await runOnFailure(onFailure, ctx.redactor.redactValue(summarize(failed, ctx, queued)), ctx.log, {
    // What is left of the run's deadline (the uploads left it a reserve), at most onFailure's own limit.
    timeoutMs: Math.min(ON_FAILURE_TIMEOUT_MS, ctx.endsAt - ctx.now().getTime()),
    signal: ctx.signal,
  });
}

function summarize(failed: readonly Done[], ctx: RunContext, queued: boolean): FailureSummary {
  return {
    tool: 'incap-cert',
    version: VERSION,
    command: ctx.command,
    host: hostname(),
    time: ctx.now().toISOString(),
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
