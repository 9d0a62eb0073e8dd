import {
  withKey,
  type CertificateBundle,
  type CertificateChain,
  type CertificateFiles,
} from '../certificate/read.js';
import type { Config } from '../config/load.js';
import { ApiError, ExitCode } from '../errors.js';
import type { ClientOptions, ImpervaClient } from '../imperva/client.js';
import { verdictWarnings } from '../imperva/response.js';
import type { Log } from '../log/logger.js';
import type { Redactor } from '../log/redact.js';
import { explicitTargets, planTargets, type Target } from './plan.js';

/** Default per-request timeout. Certbot sets none and waits on the hook for ever. */
export const REQUEST_TIMEOUT_MS = 30_000;

export interface PushContext {
  config: Config;
  log: Log;
  redactor: Redactor;
  dryRun: boolean;
  now: () => Date;
  createClient: (api: Config['api'], options: ClientOptions) => Promise<ImpervaClient>;
}

export interface PushRequest {
  chain: CertificateChain;
  files: CertificateFiles;
  /** Replaces the map's choice when given (push --site-id). */
  siteIds?: readonly string[] | undefined;
}

export interface SiteOutcome {
  target: Target;
  error: ApiError | undefined;
}

/**
 * Plans and carries out one certificate's uploads. The key is read and checked only when some site is to get the
 * certificate; a problem there uploads nothing. A failed site does not stop the others.
 */
export async function pushCertificate(request: PushRequest, ctx: PushContext): Promise<ExitCode> {
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

  const bundle = withKey(chain, request.files.key, ctx.now());
  ctx.redactor.addPrivateKey(bundle.keyPem);
  log.debug(
    `certificate ${bundle.certFile}: ${bundle.keyType}, serial ${bundle.serial}, sha256 ${bundle.fingerprint}, ` +
      `notAfter ${bundle.notAfter.toISOString()}, chain of ${bundle.chainLength}`,
  );
  if (bundle.chainLength === 1) {
    log.warn(
      `certificate ${bundle.certFile} holds only the leaf; Imperva needs the full chain (fullchain.pem)`,
    );
  }

  if (ctx.dryRun) {
    for (const target of targets) {
      log.info(
        `dry run: would upload ${target.names.join(', ')} (${bundle.keyType}, sha256 ${bundle.fingerprint.slice(0, 16)}…, ` +
          `expires ${bundle.notAfter.toISOString()}) → site ${target.siteId}`,
      );
    }
    return ExitCode.Ok;
  }

  const client = await ctx.createClient(ctx.config.api, { timeoutMs: REQUEST_TIMEOUT_MS });
  const outcomes: SiteOutcome[] = [];
  for (const target of targets) outcomes.push(await uploadOne(client, bundle, target, log));
  return outcomes.some((outcome) => outcome.error !== undefined) ? ExitCode.SiteFailed : ExitCode.Ok;
}

async function uploadOne(
  client: ImpervaClient,
  bundle: CertificateBundle,
  target: Target,
  log: Log,
): Promise<SiteOutcome> {
  const where = `site ${target.siteId} (${target.names.join(', ')})`;
  try {
    const result = await client.upload(target.siteId, bundle);
    log.info(`uploaded ${target.names.join(', ')} → site ${target.siteId}`, {
      siteId: target.siteId,
      fingerprint: bundle.fingerprint,
      authType: bundle.keyType,
    });
    for (const warning of verdictWarnings(result.verdict, bundle.notAfter)) log.warn(`${where}: ${warning}`);
    return { target, error: undefined };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    log.error(`${where}: upload failed: ${error.message}`, {
      siteId: target.siteId,
      fingerprint: bundle.fingerprint,
      ...(error.res === undefined ? {} : { res: error.res }),
      ...(error.status === undefined ? {} : { status: error.status }),
    });
    return { target, error };
  }
}

export function describeNames(names: readonly string[]): string {
  return names.length === 0 ? 'a certificate with no DNS names' : names.join(', ');
}
