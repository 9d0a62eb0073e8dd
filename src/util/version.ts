import { createRequire } from 'node:module';

// Set by scripts/build.mjs in bundles (the single executable has no package.json beside it).
declare const INCAP_CERT_VERSION: string | undefined;

/** The package version. */
export const VERSION: string =
  typeof INCAP_CERT_VERSION === 'string'
    ? INCAP_CERT_VERSION
    : (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
