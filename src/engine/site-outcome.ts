import type { KeyType } from '../model/certificate.js';
import { ApiError } from '../model/errors.js';
import type { ImpervaClient } from '../imperva/client.js';
import { ClientError, clientErrorCode, FlaggedUpload } from '../imperva/errors.js';
import { refusalOf } from '../imperva/refusal.js';
import { verdictWarnings } from '../imperva/verdict.js';
import type { SiteError, SiteResult } from '../model/report.js';
import type { RunContext } from '../run/context.js';
import { deliveryKey, type Delivery } from '../state/delivery.js';
import { deferralLimitMs } from '../certificate/expiry.js';
import { heldOfType, judgeHeld, type Held, type ImpervaView } from './held.js';
import { ownNameOf, uncoveredSite, type UncoveredSite } from './coverage.js';
import { dryRunLine } from './plan.js';
import { where, type Ready } from './prepare.js';

/** How a run treats a site its deadline left unreached. */
export interface DeferralOptions {
  /**
   * A site the run's deadline left unreached (nothing sent) is deferred, not failed: still owed, no onFailure, no
   * failing exit (sync, which continues where it stopped). Elsewhere it is a failure like any other.
   * 'throttled' (a hook, whose sites the timer's run delivers): only a site nothing was sent to or that Imperva
   * answered with nothing but 429 (the pace left no room for it); a try the deadline cut short fails as before.
   */
  deferOnDeadline?: boolean | 'throttled';
  /**
   * With deferOnDeadline: since when earlier runs have left the site unreached (ISO time), if they have: its queue
   * entry's unreachedSince. A failed site that the deadlines keep deferring is as late as one only ever deferred.
   */
  unreachedSince?: ((siteId: string, keyType: KeyType) => string | undefined) | undefined;
  /**
   * With a view: what this host delivered (the delivery record, by deliveryKey), to judge a legacy listing and
   * the flags Imperva gave to an upload.
   */
  delivered?: ReadonlyMap<string, Delivery> | undefined;
}

/** How one site's turn ended, and its lines, given out in the wants' order. */
export interface Done {
  result: SiteResult;
  ready: Ready;
  error?: ApiError | undefined;
  /** Failed for having been deferred too long: the clock it was judged by, which the queue keeps. */
  unreachedSince?: string | undefined;
  /** Imperva stored the certificate in this turn (uploaded, or uploaded and flagged): the delivery record's. */
  stored?: boolean | undefined;
  report: () => void;
}

/**
 * One site's turn: (with a view) whether Imperva already serves the certificate, else the upload. Ends current,
 * planned (dry run), uploaded, failed, deferred, or not reached (the run was stopped first).
 */
export async function siteOutcome(
  want: Ready,
  client: ImpervaClient | undefined,
  view: ImpervaView | undefined,
  ctx: RunContext,
  options: DeferralOptions,
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
  const quiet = doneOf(result, want);
  if (ctx.signal.aborted) return quiet;
  // Not uploaded where the certificate does not cover every name of the site (coverage.ts): failed, and queued.
  if (want.uncovered !== undefined) return uncoveredOutcome(result, want, want.uncovered, ctx);
  // When the certificate the site serves runs out, if Imperva said: what the deferral limit counts from.
  let servedUntil: Date | undefined;
  if (view !== undefined) {
    let current = false;
    try {
      const held = await view.held(siteId);
      servedUntil = servedExpiry(held, want);
      const uncovered = uncoveredSite(want, ctx.config.sites, ownNameOf(held));
      if (uncovered !== undefined) return uncoveredOutcome(result, want, uncovered, ctx);
      const judged = judgeHeld(held, want, options.delivered?.get(deliveryKey(siteId, bundle.keyType)));
      if (judged instanceof ApiError) {
        // Imperva holds this very certificate and flags it: sending it again gets the same verdict. The site fails
        // (queued, said every run) until the certificate, its chain or the map changes, or push sends it anyway.
        result.action = 'failed';
        result.error = siteError(judged);
        return doneOf(result, want, () => ctx.log.debug(`${where(want)}: ${judged.message}`), judged);
      }
      current = judged === 'current';
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (ctx.signal.aborted) return quiet;
      const stop = stopped(error, result, want, ctx, options, servedUntil);
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
    const uploaded = await client.upload(siteId, bundle, names);
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
    const stop = stopped(error, result, want, ctx, options, servedUntil);
    if (stop !== undefined) return stop;
    result.action = 'failed';
    result.error = siteError(error);
    const failed = doneOf(
      result,
      want,
      () => {
        // An undefined res or status is left out of the log file's JSON line. A refusal the operator must mend is
        // said once per cause for all its sites after the run (reconcile.ts); each site's own line is for -v.
        const line = `${where(want)}: upload failed: ${error.message}`;
        const meta = {
          siteId,
          fingerprint: bundle.fingerprint,
          attempts: error.attempts,
          res: error.res,
          status: error.status,
        };
        if (refusalOf(error) === undefined) ctx.log.error(line, meta);
        else ctx.log.debug(line, meta);
      },
      error,
    );
    // Imperva keeps a certificate it flags: what it said is recorded with the delivery.
    failed.stored = error instanceof FlaggedUpload;
    return failed;
  }
}

function uncoveredOutcome(result: SiteResult, want: Ready, error: UncoveredSite, ctx: RunContext): Done {
  result.action = 'failed';
  result.error = siteError(error);
  return doneOf(result, want, () => ctx.log.error(error.message), error);
}

function doneOf(
  result: SiteResult,
  ready: Ready,
  report: () => void = nothing,
  error?: ApiError,
  unreachedSince?: string,
): Done {
  return { result, ready, report, error, unreachedSince };
}

function nothing(): void {}

/** The expiry of the certificate of this key type that Imperva holds for the site, when it says one. */
function servedExpiry(held: Held, want: Ready): Date | undefined {
  const expiration =
    held.source === 'v3'
      ? heldOfType(held, want.bundle.keyType)?.expirationDate
      : held.status.custom?.expirationDate;
  return expiration === undefined ? undefined : new Date(expiration);
}

function deferredTooLong(since: string, limitMs: number, servedUntil: Date | undefined): string {
  const hours = Number((limitMs / 3_600_000).toFixed(1));
  const counted = servedUntil === undefined ? 'the local certificate' : 'the certificate Imperva serves';
  return (
    `deferred by every sync since ${since}; longer than ${hours} h, a quarter of the time left on ${counted}; ` +
    'raise deadlineSeconds or ratePerMinute, or run sync more often'
  );
}

/**
 * The ends of a site's turn that are not an upload's own failure: credentials refused (one line for the run, after
 * the uploads; no line of its own) and, where the run defers, a deadline that came before Imperva answered the site
 * (deferred, quietly — unless it has been deferred for longer than the deferral limit, which is a failure, named).
 * The limit is a quarter of the time left on the certificate Imperva serves (the local one where Imperva said
 * none), between 1 hour and 1 day (deferralLimitMs in src/certificate/expiry.ts).
 */
function stopped(
  error: ApiError,
  result: SiteResult,
  want: Ready,
  ctx: RunContext,
  options: DeferralOptions,
  servedUntil: Date | undefined,
): Done | undefined {
  const code = clientErrorCode(error);
  // Not reached: nothing sent, or Imperva answered nothing but 429 before the deadline (see ClientError.unanswered).
  const unreached =
    error.attempts === 0 ||
    (error instanceof ClientError &&
      error.unanswered &&
      (options.deferOnDeadline !== 'throttled' || error.status === 429));
  if (code === 'DEADLINE' && unreached && (options.deferOnDeadline ?? false) !== false) {
    const since = options.unreachedSince?.(want.siteId, want.bundle.keyType);
    const now = ctx.now();
    const limit = deferralLimitMs(servedUntil ?? want.bundle.notAfter, now);
    if (since === undefined || now.getTime() - Date.parse(since) <= limit) {
      result.action = 'deferred';
      return doneOf(result, want, undefined, error);
    }
    const late = new ClientError(
      deferredTooLong(since, limit, servedUntil),
      { transient: true, attempts: error.attempts },
      'DEADLINE',
    );
    result.action = 'failed';
    result.error = siteError(late);
    return doneOf(result, want, () => ctx.log.error(`${where(want)}: ${late.message}`), late, since);
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
