/**
 * A Certbot host wired as `incap-cert install` leaves it, for tests of `check`: the deploy drop-in in Certbot's
 * folder (the parent of the live folder) reaching a stand-in incap-cert that prints `incap-cert VERSION`, a renewal
 * configuration for every lineage of the live folder, and a stand-in `systemctl` first on PATH that says the timer is
 * enabled and active (CI has no systemd). Call it after the lineages are written.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { VERSION } from '../../src/util/version.js';
import { tempDir } from './harness.js';

export interface WiredHost {
  /** Certbot's folder: the parent of the live folder. */
  certbotDir: string;
  dropin: string;
  /** The stand-in incap-cert the drop-in runs. */
  program: string;
  /** The folder put first on PATH, holding the stand-in `systemctl`. */
  bin: string;
  /** `env` with PATH reaching the stand-in `systemctl`. */
  env: Record<string, string>;
  /** Rewrites the stand-in `systemctl`'s answers. */
  systemctl(enabled: string, active: string): void;
  /** The renewal configuration of a lineage. */
  renewalConf(name: string): string;
}

export interface WiredHostOptions {
  /** The renewal configuration written for each lineage (default: webroot, ECDSA, as Certbot 2 writes it). */
  renewalConf?: string;
  /** Whether to write the deploy drop-in (default true). */
  dropin?: boolean;
}

export const WEBROOT_CONF =
  'version = 2.11.0\n[renewalparams]\nauthenticator = webroot\nwebroot_path = /srv/www,\nkey_type = ecdsa\n';

/** A shell script, executable, with its folders. */
export function script(file: string, body: string): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

export function wireHost(
  liveDir: string,
  env: Record<string, string>,
  options: WiredHostOptions = {},
): WiredHost {
  const certbotDir = dirname(liveDir);
  const dir = tempDir('incap-cert-wired-');
  const program = script(
    join(dir, 'prefix', 'bin', 'incap-cert'),
    `test "$1" = --version && echo "incap-cert ${VERSION}"`,
  );
  const dropin = join(certbotDir, 'renewal-hooks', 'deploy', 'incap-cert');
  if (options.dropin ?? true) script(dropin, `exec ${program} deploy`);
  const renewalConf = (name: string) => join(certbotDir, 'renewal', `${name}.conf`);
  const lineages = existsSync(liveDir)
    ? readdirSync(liveDir, { withFileTypes: true }).filter((entry) => entry.isDirectory())
    : [];
  for (const lineage of lineages) {
    mkdirSync(join(certbotDir, 'renewal'), { recursive: true });
    writeFileSync(renewalConf(lineage.name), options.renewalConf ?? WEBROOT_CONF);
  }
  const bin = join(dir, 'bin');
  const systemctl = (enabled: string, active: string) => {
    script(
      join(bin, 'systemctl'),
      `case "$1" in is-enabled) echo ${enabled};; is-active) echo ${active};; *) exit 3;; esac`,
    );
  };
  systemctl('enabled', 'active');
  return {
    certbotDir,
    dropin,
    program,
    bin,
    env: { ...env, PATH: `${bin}:${process.env.PATH ?? ''}` },
    systemctl,
    renewalConf,
  };
}
