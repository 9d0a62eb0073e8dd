import { describeNames, wantsFor, type Want } from '../model/want.js';
import { withKey } from '../certificate/bundle.js';
import { type CertificateBundle, keyTypeText } from '../model/certificate.js';
import { readChain, refuseLeafOnly } from '../certificate/chain.js';
import { DAY_MS, HOUR_MS, isExpiring, warnWindowMs } from '../certificate/expiry.js';
import { loadConfig, type Config, type ConfigFlags, type Env } from '../config/load.js';
import { hookSource, type HookSource } from '../sources/env.js';

/** What a hook run says while the config is still the template. */
export function unconfiguredLine(config: Config): string {
  return (
    `incap-cert is not configured yet: ${config.file} still holds the template's ${config.placeholders.join(', ')}; ` +
    'nothing uploaded (fill them in, then run: incap-cert check)'
  );
}

/** The one line of a hook run with nothing to upload. */
export function nothingToUpload(plan: HookPlan): string {
  return plan.config.placeholders.length > 0 ? unconfiguredLine(plan.config) : noSiteLine(plan.names);
}

export function noSiteLine(names: readonly string[]): string {
  return `no Imperva site is mapped to ${describeNames(names)}; nothing to upload`;
}

/** A hook run's plan: the config, the certificate its ACME client named, and where it goes. */
export interface HookPlan {
  config: Config;
  source: HookSource;
  /** The leaf's DNS names. */
  names: string[];
  wants: Want[];
}

/**
 * The planning of a hook run (`deploy`): config, the ACME client's hand-off, the certificate's names, the map.
 * Throws the project's errors; undefined when no ACME client's hand-off is in the environment.
 */
export function planHook(
  flags: ConfigFlags,
  env: Env,
  onSecret?: (secret: string) => void,
): HookPlan | undefined {
  const source = hookSource(env);
  if (source === undefined) return undefined;
  const config = loadConfig(flags, env, onSecret);
  const chain = readChain(source.files);
  if (config.placeholders.length > 0) return { config, source, names: chain.names, wants: [] };
  return { config, source, names: chain.names, wants: wantsFor(chain, source.files, config.sites, 'hook') };
}

/** Reads and checks the key of a certificate that has somewhere to go; what is worth a warning about it. */
export function bundleFor(
  want: Want,
  now: Date,
  warnDays?: number,
): { bundle: CertificateBundle; warnings: string[] } {
  if (want.force !== true) refuseLeafOnly(want.chain);
  const bundle = withKey(want.chain, want.files.key, now);
  const warnings =
    bundle.leafOnly === true
      ? [`certificate ${bundle.certFile} holds only the leaf; uploading it without its chain (--force)`]
      : [];
  const warning = expiryWarning(
    bundle.certFile,
    new Date(bundle.leaf.validFrom),
    bundle.notAfter,
    now,
    warnDays,
  );
  if (warning !== undefined) warnings.push(warning);
  return { bundle, warnings };
}

/**
 * The warning for a certificate inside its warning window (src/certificate/expiry.ts), or undefined. The time left
 * and the window read in hours under 2 days: a 6-day certificate's window is 1 day, and "in 0 days" says nothing.
 */
export function expiryWarning(
  certFile: string,
  notBefore: Date,
  notAfter: Date,
  now: Date,
  warnDays?: number,
): string | undefined {
  if (!isExpiring(notBefore, notAfter, now, warnDays)) return undefined;
  const left = spanText(notAfter.getTime() - now.getTime());
  const window = spanText(warnWindowMs(notBefore, notAfter, warnDays));
  return (
    `certificate ${certFile} expires ${notAfter.toISOString()}, in ${left}: within the warning window ` +
    `(${window}); is renewal working?`
  );
}

/** A span as people say it: whole hours under 2 days (`1 hour`, `20 hours`), whole days otherwise (`15 days`). */
export function spanText(ms: number): string {
  const hours = Math.floor(Math.max(0, ms) / HOUR_MS);
  if (hours < 1) return 'less than an hour';
  if (hours === 1) return '1 hour';
  if (ms < 2 * DAY_MS) return `${hours} hours`;
  return `${Math.floor(ms / DAY_MS)} days`;
}

export function dryRunLine(bundle: CertificateBundle, siteId: string, names: readonly string[]): string {
  return (
    `dry run: would upload ${names.join(', ')} (${keyTypeText(bundle.keyType)}, sha256 ${bundle.fingerprint.slice(0, 16)}…, ` +
    `expires ${bundle.notAfter.toISOString()}) → site ${siteId}`
  );
}
