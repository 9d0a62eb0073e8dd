import { lineageFiles, readChain, type CertificateFiles } from '../certificate/read.js';
import { noSiteLine, wantsFor } from '../engine/plan.js';
import { reconcile } from '../engine/reconcile.js';
import { emptyReport, type Report } from '../report.js';
import type { RunContext } from '../run/context.js';

export type PushInput = { lineage: string } | { cert: string; key: string };

export interface PushOptions {
  input: PushInput;
  /** Replaces the map's choice when given. */
  siteIds: string[] | undefined;
}

/** A one-off push by hand: a lineage folder, or a full chain and its key. */
export async function push(options: PushOptions, ctx: RunContext): Promise<Report> {
  const files: CertificateFiles =
    'lineage' in options.input ? lineageFiles(options.input.lineage) : options.input;
  const chain = readChain(files);
  const wants = wantsFor(chain, files, ctx.config.sites, 'files', options.siteIds);
  if (wants.length === 0) {
    ctx.log.info(noSiteLine(chain.names));
    return emptyReport(ctx.command);
  }
  return reconcile(wants, ctx, { compare: false, recordIntent: true });
}
