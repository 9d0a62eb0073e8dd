import { type CertificateBundle, type CertificateChain, keyTypeText } from '../model/certificate.js';
import { CertificateError, ExitCode } from '../model/errors.js';
import type { Report } from '../model/report.js';
import type { RunContext } from '../run/context.js';
import { bundleFor } from './plan.js';
import type { Want } from '../model/want.js';
import { uncoveredSite, type UncoveredSite } from './coverage.js';

/** One want, with its key read and checked. */
export interface Ready extends Want {
  bundle: CertificateBundle;
  /**
   * Its certificate does not cover every name mapped to the site: not uploaded there, the site fails and is queued
   * (see coverage.ts). Undefined with `push --force`.
   */
  uncovered?: UncoveredSite | undefined;
}

/**
 * Reads and checks the key of every certificate that has somewhere to go, once per certificate, and makes its key
 * material a secret. A certificate that cannot be used uploads nothing and is one problem (exit 3). A certificate
 * that does not cover every name mapped to its site is marked so (unless forced): deploy, push and sync alike then
 * fail that site rather than upload there.
 */
export function prepareAll(wants: readonly Want[], ctx: RunContext, report: Report, force = false): Ready[] {
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
      peers: want.peers,
      bundle,
      uncovered: force ? undefined : uncoveredSite(want, ctx.config.sites),
    });
  }
  return ready;
}

function prepare(want: Want, ctx: RunContext): CertificateBundle {
  const { bundle, warnings } = bundleFor(want, ctx.now(), ctx.config.warnDays);
  ctx.redactor.addPrivateKey(bundle.keyPem);
  ctx.log.debug(
    `certificate ${bundle.certFile}: ${keyTypeText(bundle.keyType)}, serial ${bundle.serial}, sha256 ${bundle.fingerprint}, ` +
      `notAfter ${bundle.notAfter.toISOString()}, chain of ${bundle.chainLength}`,
  );
  for (const warning of warnings) ctx.log.warn(warning);
  return bundle;
}

/** How a site is named in its lines: `site ID (NAMES)`. */
export function where(want: { siteId: string; names: readonly string[] }): string {
  return `site ${want.siteId} (${want.names.join(', ')})`;
}
