import { lineageFiles } from '../certificate/lineage.js';
import { refuseUntrusted } from '../certificate/trusted.js';
import type { CertificateFiles } from '../model/certificate.js';
import type { Env } from '../config/load.js';
import { UsageError } from '../model/errors.js';

/** Where a deploy hook's certificate comes from, read from the environment the ACME client set. */
export interface HookSource {
  /** Which client's hand-off this is, for --verbose. */
  client: string;
  files: CertificateFiles;
}

interface Handoff {
  client: string;
  /** The variable whose presence says this client ran us. */
  marker: string;
  read: (env: Env) => CertificateFiles;
}

/**
 * How each ACME client hands a certificate to its hook (docs/acme-clients.md), in order of
 * precedence when several are set: Certbot, lego 5, lego 4, acme.sh.
 */
const HANDOFFS: readonly Handoff[] = [
  {
    // RENEWED_DOMAINS is informational only: the certificate's own names decide where it goes.
    client: 'certbot (RENEWED_LINEAGE)',
    marker: 'RENEWED_LINEAGE',
    read: (env) => lineageFiles(env.RENEWED_LINEAGE as string),
  },
  {
    client: 'lego 5 (LEGO_HOOK_CERT_PATH)',
    marker: 'LEGO_HOOK_CERT_PATH',
    read: (env) => ({
      cert: env.LEGO_HOOK_CERT_PATH as string,
      key: required(env, 'LEGO_HOOK_CERT_KEY_PATH', 'LEGO_HOOK_CERT_PATH'),
      issuer: env.LEGO_HOOK_ISSUER_CERT_PATH || undefined,
    }),
  },
  {
    // lego 4 writes the leaf and its issuer into LEGO_CERT_PATH by default; with --no-bundle only the leaf.
    client: 'lego 4 (LEGO_CERT_PATH)',
    marker: 'LEGO_CERT_PATH',
    read: (env) => ({
      cert: env.LEGO_CERT_PATH as string,
      key: required(env, 'LEGO_CERT_KEY_PATH', 'LEGO_CERT_PATH'),
      issuer: env.LEGO_ISSUER_CERT_PATH || undefined,
    }),
  },
  {
    client: 'acme.sh (CERT_FULLCHAIN_PATH)',
    marker: 'CERT_FULLCHAIN_PATH',
    read: (env) => ({
      cert: env.CERT_FULLCHAIN_PATH as string,
      key: required(env, 'CERT_KEY_PATH', 'CERT_FULLCHAIN_PATH'),
    }),
  },
];

function required(env: Env, name: string, because: string): string {
  const value = env[name];
  if (!value)
    throw new UsageError(`${because} is set but ${name} is not: the ACME client's hand-off is incomplete`);
  return value;
}

/** The certificate the ACME client that ran us names, or undefined when none did. */
export function hookSource(env: Env): HookSource | undefined {
  const handoff = HANDOFFS.find((candidate) => Boolean(env[candidate.marker]));
  if (handoff === undefined) return undefined;
  const files = handoff.read(env);
  // Certbot's lineage is checked up to /etc/letsencrypt by lineageFiles; the others' files may be anywhere.
  if (files.lineage === undefined) refuseUntrusted(files, '/');
  return { client: handoff.client, files };
}

/** Whether the environment looks like a deploy hook's, so that running with no command means `deploy`. */
export function isHookEnvironment(env: Env): boolean {
  return HANDOFFS.some((handoff) => Boolean(env[handoff.marker]));
}
