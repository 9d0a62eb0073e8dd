import { readChain } from '../certificate/chain.js';
import { lineageFiles } from '../certificate/lineage.js';
import { refuseUntrusted } from '../certificate/trusted.js';
import type { CertificateFiles } from '../model/certificate.js';
import { noSiteLine, unconfiguredLine } from '../engine/plan.js';
import { wantsFor } from '../model/want.js';
import { reconcile } from '../engine/reconcile.js';
import { emptyReport, type Report } from '../model/report.js';
import type { RunContext } from '../run/context.js';

export type PushInput = { lineage: string } | { cert: string; key: string };

export interface PushOptions {
  input: PushInput;
  /** Replaces the map's choice when given. */
  siteIds: string[] | undefined;
  /** Upload even where the certificate does not cover every name mapped to the site (engine/coverage.ts). */
  force?: boolean | undefined;
}

/** A one-off push by hand: a lineage folder, or a full chain and its key. */
export async function push(options: PushOptions, ctx: RunContext): Promise<Report> {
  // The dehydrated and acme.sh hooks run push: a fresh install stays quiet until it is configured.
  if (ctx.config.placeholders.length > 0) {
    ctx.log.info(unconfiguredLine(ctx.config));
    return emptyReport(ctx.command);
  }
  let files: CertificateFiles;
  if ('lineage' in options.input) files = lineageFiles(options.input.lineage);
  else {
    // Files named by hand may be anywhere: every folder above them counts, up to /.
    files = options.input;
    refuseUntrusted(files, '/');
  }
  const chain = readChain(files);
  const wants = wantsFor(chain, files, ctx.config.sites, 'files', options.siteIds);
  if (wants.length === 0) {
    ctx.log.info(noSiteLine(chain.names));
    return emptyReport(ctx.command);
  }
  return reconcile(wants, ctx, { compare: false, recordIntent: true, force: options.force === true });
}
