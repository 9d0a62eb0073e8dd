import type { CertificateFiles } from '../certificate/read.js';
import { lineageFiles } from '../certificate/read.js';
import type { Env } from '../config/load.js';

/** Where a deploy hook's certificate comes from, read from the environment the ACME client set. */
export interface HookSource {
  /** Which client's hand-off this is, for --verbose. */
  client: string;
  files: CertificateFiles;
}

/**
 * Certbot sets RENEWED_LINEAGE to the live folder (fullchain.pem, privkey.pem). RENEWED_DOMAINS is informational
 * only: the certificate's own names decide where it goes. (../shared/reference/acme-clients.md)
 */
export function hookSource(env: Env): HookSource | undefined {
  if (env.RENEWED_LINEAGE)
    return { client: 'certbot (RENEWED_LINEAGE)', files: lineageFiles(env.RENEWED_LINEAGE) };
  return undefined;
}

/** Whether the environment looks like a deploy hook's, so that running with no command means `deploy`. */
export function isHookEnvironment(env: Env): boolean {
  return Boolean(env.RENEWED_LINEAGE);
}
