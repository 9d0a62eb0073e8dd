import { hostname } from 'node:os';
import type { CertificateBundle, CertificateChain, KeyType } from '../certificate/read.js';
import { ApiError, CertificateError, ExitCode, StateError } from '../errors.js';
import type { ImpervaClient } from '../imperva/client.js';
import { ClientError, clientErrorCode, isCredentialsError } from '../imperva/errors.js';
import { verdictWarnings } from '../imperva/response.js';
import { ON_FAILURE_TIMEOUT_MS, runOnFailure, type FailureSummary } from '../notify/on-failure.js';
import { emptyReport, type Report, type SiteError, type SiteResult } from '../report.js';
import type { RunContext } from '../run/context.js';
import { Queue, type Failure, type Intent, type QueueEntry } from '../state/queue.js';
import { mapPool } from '../util/pool.js';
import { VERSION } from '../version.js';
import { bundleFor, dryRunLine, type Want } from './plan.js';
import { holdsCertificate, ImpervaView } from './held.js';

export interface ReconcileOptions {
  /** Ask Imperva what each site serves first, and upload only where it is not the wanted certificate (sync). */
  compare: boolean;
  /**
   * Record each site in the retry queue before its upload starts, so that a run killed at any instant leaves it for
   * sync (deploy and push: sync cannot find their certificates again by itself).
   */
  recordIntent: boolean;
  /**
   * A site the run's deadline left unreached (nothing sent) is deferred, not failed: still owed, no onFailure, no
   * failing exit (sync, which continues where it stopped). Elsewhere it is a failure like any other.
   */
  deferOnDeadline?: boolean;
  /**
   * With deferOnDeadline: since when earlier runs have left the site unreached (ISO time), if they have: see
   * unreachedSince. A failed site that the deadlines keep deferring is as late as one that was only ever deferred.
   */
  deferredSince?: ((siteId: string, keyType: KeyType) => string | undefined) | undefined;
  /** What Imperva holds, shared with the caller (sync asks it again after the uploads, to prune). */
  view?: ImpervaView | undefined;
}

/** One want, with its key read and checked. */
interface Ready extends Want {
  bundle: CertificateBundle;
}

interface Done {
  result: SiteResult;
  ready: Ready;
  error?: ApiError | undefined;
  report: () => void;
}

/**
 * The one engine behind deploy, push and sync: what is wanted → (when asked) what Imperva serves → upload where
 * needed → settle (the queue, onFailure) → report. Per-site lines come out in the wants' order as soon as everything
 * before them is done; a failed site does not stop the others.
 */
export async function reconcile(
  wants: readonly Want[],
  ctx: RunContext,
  options: ReconcileOptions,
): Promise<Report> {
  const report = emptyReport(ctx.command);
  const ready = prepareAll(wants, ctx, report);
  if (ready.length === 0) return report;

  const queue = new Queue(ctx.config.stateDir, ctx.log, ctx.now, (text) => ctx.redactor.redact(text));
  let unrecorded: StateError | undefined;
  if (options.recordIntent && !ctx.dryRun) {
    try {
      await queue.begin(ready.map(intentOf));
    } catch (error) {
      if (!(error instanceof StateError)) throw error;
      unrecorded = error;
    }
  }

  const client = options.compare || !ctx.dryRun ? await ctx.client() : undefined;
  const view =
    options.compare && client !== undefined ? (options.view ?? new ImpervaView(client, ctx.log)) : undefined;
  const done = await mapPool(
    ready,
    ctx.config.concurrency,
    (want) => settleOne(want, client, view, ctx, options),
    (one) => one.report(),
  );
  report.sites.push(...done.map((one) => one.result));
  if (ctx.signal.aborted) report.interrupted = signalOf(ctx.signal);
  if (ctx.dryRun) return report;

  const failed = done.filter((one) => one.result.action === 'failed');
  const deferred = done.filter((one) => one.result.action === 'deferred');
  const refused = failed.filter((one) => isCredentialsError(one.error));
  let queued = false;
  try {
    await queue.settle({
      failures: failed.map((one) => failureOf(one.ready, one.error)),
      deferred: deferred.map((one) => intentOf(one.ready)),
      delivered: done
        .filter((one) => one.result.action === 'uploaded' || one.result.action === 'current')
        .map((one) => ({
          siteId: one.ready.siteId,
          authType: one.ready.bundle.keyType,
          notAfter: one.ready.bundle.notAfter,
        })),
    });
    queued = failed.length > 0;
    if (queued) {
      ctx.log.info(
        `queued ${failed.length} failed site${failed.length === 1 ? '' : 's'} in ${ctx.config.stateDir} for the next sync`,
      );
    }
  } catch (error) {
    if (!(error instanceof StateError)) throw error;
    unrecorded ??= error;
  }
  if (refused[0]?.error !== undefined) {
    // One line for all of them: every site after the first was not even tried (the client stops sending).
    ctx.log.error(
      `Imperva refused the API credentials: ${refused[0].error.message}; the key comes from ${ctx.config.api.keySource}; ` +
        `${refused.length} site${refused.length === 1 ? '' : 's'} ${queued ? 'queued for sync' : 'not delivered'}`,
    );
  }
  if (unrecorded !== undefined) {
    ctx.log.error(
      `${unrecorded.message}; the uploads above stand, but ${failed.length > 0 ? 'failures were not queued' : 'nothing could be recorded'} for sync`,
    );
  }
  if (failed.length > 0 && ctx.config.onFailure !== undefined && report.interrupted === undefined) {
    await runOnFailure(
      ctx.config.onFailure,
      ctx.redactor.redactValue(summarize(failed, ctx, queued)),
      ctx.log,
      // What is left of the run's deadline (the uploads left it a reserve), at most onFailure's own limit.
      { timeoutMs: Math.min(ON_FAILURE_TIMEOUT_MS, ctx.endsAt - ctx.now().getTime()), signal: ctx.signal },
    );
  }
  return report;
}

/**
 * Reads and checks the key of every certificate that has somewhere to go, once per certificate, and makes its key
 * material a secret. A certificate that cannot be used uploads nothing and is one problem (exit 3).
 */
function prepareAll(wants: readonly Want[], ctx: RunContext, report: Report): Ready[] {
  const bundles = new Map<CertificateChain, CertificateBundle | CertificateError>();
  const ready: Ready[] = [];
  for (const want of wants) {
    let bundle = bundles.get(want.chain);
    if (bundle === undefined) {
      try {
        bundle = prepare(want, ctx);
      } catch (error) {
        if (!(error instanceof CertificateError)) throw error;
        bundle = error;
        if (want.origin === 'hook' || want.origin === 'files') {
          ctx.log.error(error.message);
          report.problems.push({ message: error.message, exitCode: ExitCode.Certificate });
        }
      }
      bundles.set(want.chain, bundle);
    }
    if (bundle instanceof CertificateError) {
      if (want.origin === 'live' || want.origin === 'queue') {
        const message = `${where(want)}: ${want.origin === 'queue' ? 'queued, but ' : ''}${bundle.message}`;
        ctx.log.error(message);
        report.problems.push({ message, exitCode: ExitCode.Certificate });
      }
      continue;
    }
    ready.push({
      siteId: want.siteId,
      names: want.names,
      chain: want.chain,
      files: want.files,
      origin: want.origin,
      explicit: want.explicit,
      bundle,
    });
  }
  return ready;
}

function prepare(want: Want, ctx: RunContext): CertificateBundle {
  const { bundle, warnings } = bundleFor(want, ctx.now(), ctx.config.warnDays);
  ctx.redactor.addPrivateKey(bundle.keyPem);
  ctx.log.debug(
    `certificate ${bundle.certFile}: ${bundle.keyType}, serial ${bundle.serial}, sha256 ${bundle.fingerprint}, ` +
      `notAfter ${bundle.notAfter.toISOString()}, chain of ${bundle.chainLength}`,
  );
  for (const warning of warnings) ctx.log.warn(warning);
  return bundle;
}

async function settleOne(
  want: Ready,
  client: ImpervaClient | undefined,
  view: ImpervaView | undefined,
  ctx: RunContext,
  options: ReconcileOptions,
): Promise<Done> {
  const { bundle, siteId, names } = want;
  const result: SiteResult = {
    siteId,
    keyType: bundle.keyType,
    names: [...names],
    fingerprint: bundle.fingerprint,
    notAfter: bundle.notAfter.toISOString(),
    action: 'not-reached',
  };
  // Every Done is made by doneOf, one literal: see wantOf on spreads.
  const quiet = doneOf(result, want);
  if (ctx.signal.aborted) return quiet;
  if (view !== undefined) {
    let current = false;
    try {
      current = holdsCertificate(await view.held(siteId), bundle);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (ctx.signal.aborted) return quiet;
      const stop = stopped(error, result, want, ctx, options);
      if (stop !== undefined) return stop;
      // The upload is harmless if the site had the certificate after all, and says whether the site is reachable.
      ctx.log.debug(`${where(want)}: cannot read what it serves (${error.message}); uploading`);
    }
    if (current) {
      result.action = 'current';
      return doneOf(result, want, () =>
        ctx.log.debug(
          `${where(want)}: serves the current certificate (sha256 ${bundle.fingerprint.slice(0, 16)}…)`,
        ),
      );
    }
  }
  if (ctx.dryRun || client === undefined) {
    result.action = 'planned';
    return doneOf(result, want, () => ctx.log.info(dryRunLine(bundle, siteId, names)));
  }
  if (ctx.signal.aborted) return quiet;
  try {
    const uploaded = await client.upload(siteId, bundle);
    result.action = 'uploaded';
    return doneOf(result, want, () => {
      ctx.log.info(`uploaded ${names.join(', ')} → site ${siteId}`, {
        siteId,
        fingerprint: bundle.fingerprint,
        authType: bundle.keyType,
      });
      for (const warning of verdictWarnings(uploaded.verdict, bundle.notAfter))
        ctx.log.warn(`${where(want)}: ${warning}`);
    });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (ctx.signal.aborted) return quiet;
    const stop = stopped(error, result, want, ctx, options);
    if (stop !== undefined) return stop;
    result.action = 'failed';
    result.error = siteError(error);
    return doneOf(
      result,
      want,
      () =>
        // An undefined res or status is left out of the log file's JSON line.
        ctx.log.error(`${where(want)}: upload failed: ${error.message}`, {
          siteId,
          fingerprint: bundle.fingerprint,
          attempts: error.attempts,
          res: error.res,
          status: error.status,
        }),
      error,
    );
  }
}

function doneOf(result: SiteResult, ready: Ready, report: () => void = nothing, error?: ApiError): Done {
  return { result, ready, report, error };
}

function nothing(): void {}

/** A site deferred by every run for longer than this is a failure, not a delay (issue 11). */
export const DEFERRED_TOO_LONG_MS = 86_400_000;

const DEFERRED_TOO_LONG = 'deferred by every sync since ';

function deferredTooLong(since: string): string {
  return `${DEFERRED_TOO_LONG}${since}; raise deadlineSeconds or ratePerMinute, or run sync more often`;
}

/**
 * Since when a queued site has gone unreached (ISO time): a deferred entry since it was first deferred; a failed one
 * since its last failure (Imperva answered it then), unless that failure was itself a deferral for too long (the
 * site was not reached then either: the clock goes on from when the deferrals began); a pending one since it was
 * recorded. Sync's clock for DEFERRED_TOO_LONG_MS, and its order: the site unreached longest comes first.
 */
export function unreachedSince(entry: QueueEntry): string {
  if (entry.state !== 'failed') return entry.since;
  if (entry.lastError.startsWith(DEFERRED_TOO_LONG)) {
    const since = entry.lastError.slice(DEFERRED_TOO_LONG.length).split(';', 1)[0] ?? '';
    if (!Number.isNaN(Date.parse(since))) return since;
  }
  return entry.lastFailure ?? entry.since;
}

/**
 * The ends of a site's turn that are not an upload's own failure: credentials refused (one line for the run, after
 * the uploads; no line of its own) and, where the run defers, a deadline that came before Imperva answered the site
 * (deferred, quietly — unless it has been deferred for more than a day, which is a failure, named).
 */
function stopped(
  error: ApiError,
  result: SiteResult,
  want: Ready,
  ctx: RunContext,
  options: ReconcileOptions,
): Done | undefined {
  const code = clientErrorCode(error);
  // Not reached: nothing sent, or Imperva answered nothing but 429 before the deadline (see ClientError.unanswered).
  const unreached = error.attempts === 0 || (error instanceof ClientError && error.unanswered);
  if (code === 'DEADLINE' && unreached && options.deferOnDeadline === true) {
    const since = options.deferredSince?.(want.siteId, want.bundle.keyType);
    if (since === undefined || ctx.now().getTime() - Date.parse(since) <= DEFERRED_TOO_LONG_MS) {
      result.action = 'deferred';
      return doneOf(result, want, undefined, error);
    }
    const late = new ClientError(deferredTooLong(since), { transient: true }, 'DEADLINE');
    late.attempts = error.attempts;
    result.action = 'failed';
    result.error = siteError(late);
    return doneOf(result, want, () => ctx.log.error(`${where(want)}: ${late.message}`), late);
  }
  if (code === 'CREDENTIALS') {
    result.action = 'failed';
    result.error = siteError(error);
    return doneOf(result, want, undefined, error);
  }
  return undefined;
}

function siteError(error: ApiError): SiteError {
  return {
    code: error.code,
    message: error.message,
    res: error.res,
    httpStatus: error.status,
    transient: error.transient,
    attempts: error.attempts,
  };
}

function intentOf(want: Ready): Intent {
  return {
    siteId: want.siteId,
    authType: want.bundle.keyType,
    names: want.names,
    source: want.files,
    fingerprint: want.bundle.fingerprint,
    notAfter: want.bundle.notAfter,
    explicit: want.explicit,
  };
}

function failureOf(want: Ready, error: ApiError | undefined): Failure {
  return {
    siteId: want.siteId,
    authType: want.bundle.keyType,
    names: want.names,
    source: want.files,
    fingerprint: want.bundle.fingerprint,
    notAfter: want.bundle.notAfter,
    explicit: want.explicit,
    error: error?.message ?? '',
    attempts: error?.attempts ?? 1,
  };
}

function where(want: { siteId: string; names: readonly string[] }): string {
  return `site ${want.siteId} (${want.names.join(', ')})`;
}

function signalOf(signal: AbortSignal): NodeJS.Signals {
  const reason: unknown = signal.reason;
  return typeof reason === 'string' && /^SIG[A-Z]+$/.test(reason) ? (reason as NodeJS.Signals) : 'SIGTERM';
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
