import { withKey, type CertificateBundle } from '../certificate/bundle.js';
import { readChain, type CertificateChain } from '../certificate/chain.js';
import type { CertificateFiles } from '../certificate/lineage.js';
import { DAY_MS, daysLeft, isExpiring, warnWindowMs } from '../certificate/expiry.js';
import { loadConfig, type Config, type ConfigFlags, type Env } from '../config/load.js';
import type { SiteMap } from '../config/site-map.js';
import { hookSource, type HookSource } from '../sources/env.js';

/** One site to upload to, and the certificate names that led there. */
export interface Target {
  siteId: string;
  names: string[];
}

/** Where a wanted certificate came from: it decides how a problem with it is told, and whether sync can find it again. */
export type WantOrigin = 'hook' | 'files' | 'live' | 'queue';

/** What should be true: this site serves this certificate (of its key type). */
export interface Want extends Target {
  chain: CertificateChain;
  files: CertificateFiles;
  origin: WantOrigin;
  /** The site was named by `push --site-id`, not chosen by the map: the queue keeps it even if the map does not. */
  explicit: boolean;
}

/**
 * Which sites get a certificate with these names: every site id the map assigns to any of them. Each site appears
 * once, however many names point at it, in the order the certificate lists its names. Pure.
 */
export function planTargets(names: readonly string[], sites: SiteMap): Target[] {
  const targets = new Map<string, Target>();
  for (const name of names) {
    for (const siteId of sites.get(name) ?? []) {
      const target = targets.get(siteId);
      if (target === undefined) targets.set(siteId, { siteId, names: [name] });
      else if (!target.names.includes(name)) target.names.push(name);
    }
  }
  return [...targets.values()];
}

/** `--site-id` replaces the map's choice: every named site gets the certificate. */
export function explicitTargets(siteIds: readonly string[], names: readonly string[]): Target[] {
  return [...new Set(siteIds)].map((siteId) => ({ siteId, names: [...names] }));
}

/**
 * A want, built as one literal. `{ ...target, chain, … }` would do the same, but V8 (Node 20) gives every object
 * made by a spread and then extended a hidden class of its own: at Imperva's scale, thousands of them, kept for the
 * whole run. The same holds for the other per-site objects of the engine and the queue.
 */
export function wantOf(
  target: Target,
  chain: CertificateChain,
  files: CertificateFiles,
  origin: WantOrigin,
  explicit: boolean,
): Want {
  return { siteId: target.siteId, names: target.names, chain, files, origin, explicit };
}

/** One certificate's wants: the map's sites, or the explicitly named ones. */
export function wantsFor(
  chain: CertificateChain,
  files: CertificateFiles,
  sites: SiteMap,
  origin: WantOrigin,
  siteIds?: readonly string[],
): Want[] {
  const explicit = siteIds !== undefined && siteIds.length > 0;
  const targets = explicit ? explicitTargets(siteIds, chain.names) : planTargets(chain.names, sites);
  return targets.map((target) => wantOf(target, chain, files, origin, explicit));
}

/** Every site id the map names, with the names that point at it, in map order. */
export function mappedSites(sites: SiteMap): Map<string, string[]> {
  const bySite = new Map<string, string[]>();
  for (const [name, siteIds] of sites) {
    for (const siteId of siteIds) bySite.set(siteId, [...(bySite.get(siteId) ?? []), name]);
  }
  return bySite;
}

export function describeNames(names: readonly string[]): string {
  return names.length === 0 ? 'a certificate with no DNS names' : names.join(', ');
}

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
  const bundle = withKey(want.chain, want.files.key, now);
  const warnings =
    bundle.chainLength === 1
      ? [`certificate ${bundle.certFile} holds only the leaf; Imperva needs the full chain (fullchain.pem)`]
      : [];
  const notBefore = new Date(bundle.leaf.validFrom);
  if (isExpiring(notBefore, bundle.notAfter, now, warnDays)) {
    warnings.push(
      `certificate ${bundle.certFile} expires ${bundle.notAfter.toISOString()}, in ${daysLeft(bundle.notAfter, now)} ` +
        `days: within the warning window (${Math.round(warnWindowMs(notBefore, bundle.notAfter, warnDays) / DAY_MS)} days); is renewal working?`,
    );
  }
  return { bundle, warnings };
}

export function dryRunLine(bundle: CertificateBundle, siteId: string, names: readonly string[]): string {
  return (
    `dry run: would upload ${names.join(', ')} (${bundle.keyType}, sha256 ${bundle.fingerprint.slice(0, 16)}…, ` +
    `expires ${bundle.notAfter.toISOString()}) → site ${siteId}`
  );
}
