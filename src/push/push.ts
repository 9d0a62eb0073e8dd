import { hostname } from 'node:os';
import {
  withKey,
  type CertificateBundle,
  type CertificateChain,
  type CertificateFiles,
} from '../certificate/read.js';
import type { Config } from '../config/load.js';
import { ApiError, ExitCode } from '../errors.js';
import type { ImpervaClient } from '../imperva/client.js';
import { mapPool } from '../imperva/limiter.js';
import { verdictWarnings } from '../imperva/response.js';
import type { Log } from '../log/logger.js';
import type { Redactor } from '../log/redact.js';
import { runOnFailure, type FailureSummary } from '../notify/on-failure.js';
import { Queue, QueueError } from '../state/queue.js';
import { VERSION } from '../version.js';
import { describeNames, explicitTargets, planTargets, type Target } from './plan.js';

/** What a command's run holds: the config, the logger, and the Imperva client, made on first need. */
export interface RunContext {
  /** The command, for the onFailure summary. */
  command: string;
  config: Config;
  log: Log;
  redactor: Redactor;
  dryRun: boolean;
  now: () => Date;
  client: () => Promise<ImpervaClient>;
}

export interface PushRequest {
  chain: CertificateChain;
  files: CertificateFiles;
  /** Replaces the map's choice when given (push --site-id). */
  siteIds?: readonly string[] | undefined;
}

/** One certificate to one site. */
export interface Delivery {
  target: Target;
  bundle: CertificateBundle;
  files: CertificateFiles;
}

export interface SiteOutcome extends Delivery {
  error: ApiError | undefined;
}

/**
 * Plans and carries out one certificate's uploads. The key is read and checked only when some site is to get the
 * certificate; a problem there uploads nothing. A failed site does not stop the others; failures are queued for
 * `sync`, and the onFailure command is told.
 */
export async function pushCertificate(request: PushRequest, ctx: RunContext): Promise<ExitCode> {
  const { chain } = request;
  const { log } = ctx;
  const targets =
    request.siteIds !== undefined && request.siteIds.length > 0
      ? explicitTargets(request.siteIds, chain.names)
      : planTargets(chain.names, ctx.config.sites);
  if (targets.length === 0) {
    log.info(`no Imperva site is mapped to ${describeNames(chain.names)}; nothing to upload`);
    return ExitCode.Ok;
  }
  const bundle = prepare(chain, request.files, ctx);
  if (ctx.dryRun) {
    for (const target of targets) log.info(dryRunLine(bundle, target));
    return ExitCode.Ok;
  }
  const outcomes = await deliver(
    targets.map((target) => ({ target, bundle, files: request.files })),
    ctx,
  );
  return settle(outcomes, ctx);
}

/** Reads and checks the key for a chain that has somewhere to go, and makes its key material a secret. */
export function prepare(
  chain: CertificateChain,
  files: CertificateFiles,
  ctx: RunContext,
): CertificateBundle {
  const bundle = withKey(chain, files.key, ctx.now());
  ctx.redactor.addPrivateKey(bundle.keyPem);
  ctx.log.debug(
    `certificate ${bundle.certFile}: ${bundle.keyType}, serial ${bundle.serial}, sha256 ${bundle.fingerprint}, ` +
      `notAfter ${bundle.notAfter.toISOString()}, chain of ${bundle.chainLength}`,
  );
  if (bundle.chainLength === 1) {
    ctx.log.warn(
      `certificate ${bundle.certFile} holds only the leaf; Imperva needs the full chain (fullchain.pem)`,
    );
  }
  return bundle;
}

export function dryRunLine(bundle: CertificateBundle, target: Target): string {
  return (
    `dry run: would upload ${target.names.join(', ')} (${bundle.keyType}, sha256 ${bundle.fingerprint.slice(0, 16)}…, ` +
    `expires ${bundle.notAfter.toISOString()}) → site ${target.siteId}`
  );
}

/**
 * Uploads the deliveries, up to `concurrency` at once, one line each on stdout (success) or stderr (failure), in
 * the plan's order as soon as everything before it is done.
 */
export async function deliver(deliveries: readonly Delivery[], ctx: RunContext): Promise<SiteOutcome[]> {
  if (deliveries.length === 0) return [];
  const client = await ctx.client();
  const results = await mapPool(
    deliveries,
    ctx.config.concurrency,
    (delivery) => uploadOne(client, delivery, ctx.log),
    (result) => result.report(),
  );
  return results.map((result) => result.outcome);
}

async function uploadOne(
  client: ImpervaClient,
  delivery: Delivery,
  log: Log,
): Promise<{ outcome: SiteOutcome; report: () => void }> {
  const { target, bundle } = delivery;
  const where = `site ${target.siteId} (${target.names.join(', ')})`;
  try {
    const result = await client.upload(target.siteId, bundle);
    return {
      outcome: { ...delivery, error: undefined },
      report: () => {
        log.info(`uploaded ${target.names.join(', ')} → site ${target.siteId}`, {
          siteId: target.siteId,
          fingerprint: bundle.fingerprint,
          authType: bundle.keyType,
        });
        for (const warning of verdictWarnings(result.verdict, bundle.notAfter))
          log.warn(`${where}: ${warning}`);
      },
    };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return {
      outcome: { ...delivery, error },
      report: () =>
        log.error(`${where}: upload failed: ${error.message}`, {
          siteId: target.siteId,
          fingerprint: bundle.fingerprint,
          attempts: error.attempts,
          ...(error.res === undefined ? {} : { res: error.res }),
          ...(error.status === undefined ? {} : { status: error.status }),
        }),
    };
  }
}

/**
 * After the uploads: failures go into the retry queue and deliveries leave it; the onFailure command hears of
 * failures. A queue that cannot be written is reported and does not change the outcome: the uploads happened.
 */
export async function settle(
  outcomes: readonly SiteOutcome[],
  ctx: RunContext,
  delivered: readonly { siteId: string; notAfter: Date }[] = [],
): Promise<ExitCode> {
  const failed = outcomes.filter((outcome) => outcome.error !== undefined);
  const succeeded = [
    ...outcomes
      .filter((outcome) => outcome.error === undefined)
      .map((outcome) => ({ siteId: outcome.target.siteId, notAfter: outcome.bundle.notAfter })),
    ...delivered,
  ];
  let queued = false;
  try {
    await new Queue(ctx.config.stateDir, ctx.log, ctx.now).settle(
      failed.map((outcome) => ({
        siteId: outcome.target.siteId,
        authType: outcome.bundle.keyType,
        names: outcome.target.names,
        source: outcome.files,
        fingerprint: outcome.bundle.fingerprint,
        notAfter: outcome.bundle.notAfter,
        error: outcome.error?.message ?? '',
        attempts: outcome.error?.attempts ?? 1,
      })),
      succeeded,
    );
    queued = failed.length > 0;
    if (queued) {
      ctx.log.info(
        `queued ${failed.length} failed site${failed.length === 1 ? '' : 's'} in ${ctx.config.stateDir} for the next sync`,
      );
    }
  } catch (error) {
    if (!(error instanceof QueueError)) throw error;
    ctx.log.error(`${error.message}; the uploads above stand, but failures were not queued for sync`);
  }
  if (failed.length > 0 && ctx.config.onFailure !== undefined) {
    await runOnFailure(
      ctx.config.onFailure,
      ctx.redactor.redactValue(summarize(failed, ctx, queued)),
      ctx.log,
    );
  }
  return failed.length > 0 ? ExitCode.SiteFailed : ExitCode.Ok;
}

function summarize(failed: readonly SiteOutcome[], ctx: RunContext, queued: boolean): FailureSummary {
  return {
    tool: 'incap-cert',
    version: VERSION,
    command: ctx.command,
    host: hostname(),
    time: ctx.now().toISOString(),
    sites: failed.map(({ target, bundle, files, error }) => ({
      siteId: target.siteId,
      names: target.names,
      certificate: files.cert,
      lineage: files.lineage,
      fingerprint: bundle.fingerprint,
      notAfter: bundle.notAfter.toISOString(),
      error: error?.message ?? '',
      res: error?.res,
      httpStatus: error?.status,
      transient: error?.transient ?? false,
      attempts: error?.attempts ?? 1,
      queued,
    })),
  };
}
