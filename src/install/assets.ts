/**
 * The files the installer writes besides the executable — hooks, units, cron line, logrotate file, config template,
 * and the README and docs for the host's doc folder. They travel
 * inside the single executable as Node single-executable-application assets (scripts/package.mjs lists them in the
 * SEA config); run as `node dist/cli.cjs`, they are read from the package folder (the repository, or the npm package,
 * whose "files" ship them).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { getAsset, isSea } from 'node:sea';
import { fileURLToPath } from 'node:url';
import { InstallError } from './errors.js';

/** Every asset, by its path in the repository; the SEA assets carry the same keys. */
export const ASSET_NAMES = [
  'hooks/certbot-deploy.sh',
  'hooks/dehydrated-hook.sh',
  'hooks/acme.sh/incap_cert.sh',
  'hooks/systemd/incap-cert-sync.service',
  'hooks/systemd/incap-cert-sync.timer',
  'hooks/cron/incap-cert',
  'hooks/logrotate/incap-cert',
  'scripts/config.example.json',
] as const;

/**
 * The documentation put under PREFIX/share/doc/incap-cert/ (and the Debian package's /usr/share/doc/incap-cert/), by
 * its path in the repository. Node 20's single executable cannot list its assets, so they are named here;
 * test/unit/install-docs.test.ts fails when README.md or a file in docs/ is missing from this list.
 */
export const DOC_NAMES = [
  'README.md',
  'docs/acme-clients.md',
  'docs/canary.md',
  'docs/config.md',
  'docs/development.md',
  'docs/imperva-api.md',
  'docs/install.md',
  'docs/operations.md',
  'docs/performance.md',
  'docs/security.md',
] as const;
export type DocName = (typeof DOC_NAMES)[number];

export type AssetName = (typeof ASSET_NAMES)[number];
export type Assets = Readonly<Record<AssetName | DocName, string>>;

/** Whether this process is the single executable (then it installs itself). */
export function runningAsSea(): boolean {
  return isSea();
}

/** The folder that holds package.json and hooks/: above dist/cli.cjs, or above src/install/ under tsx. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'hooks'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new InstallError('cannot find the incap-cert package folder (with hooks/)');
    dir = parent;
  }
}

export async function loadAssets(): Promise<Assets> {
  const sea = isSea();
  const root = sea ? '' : packageRoot();
  const entries = await Promise.all(
    [...ASSET_NAMES, ...DOC_NAMES].map(async (name): Promise<[AssetName | DocName, string]> => {
      try {
        return [name, sea ? getAsset(name, 'utf8') : await readFile(join(root, name), 'utf8')];
      } catch {
        throw new InstallError(`${name} is missing from ${sea ? 'this executable' : root}: a broken build`);
      }
    }),
  );
  return Object.fromEntries(entries) as Record<AssetName | DocName, string>;
}
