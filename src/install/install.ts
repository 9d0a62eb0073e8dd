/**
 * `incap-cert install` and `incap-cert uninstall`: the one installer. The executable writes itself, the hooks, the
 * daily sync (systemd timer or cron line) and the config template to where a Certbot host expects them:
 *
 *   PREFIX/bin/incap-cert                                   the executable, 0755
 *   PREFIX/share/incap-cert/hooks/                          the dehydrated hook and the acme.sh plugin, 0755
 *   /etc/letsencrypt/renewal-hooks/deploy/incap-cert        Certbot's drop-in, 0755
 *   /etc/incap-cert/config.json                             the config template, 0600 (folder 0700), never overwritten
 *   /etc/systemd/system/incap-cert-sync.{service,timer}     the daily sync where systemd runs (--systemd), 0644
 *   /etc/cron.d/incap-cert                                  or as a cron line (--cron), 0644
 *   /var/lib/incap-cert/                                    the state folder, 0700
 *
 * Plain async functions — options in, a report out — that know nothing of yargs (src/commands/install.ts wires
 * them in). Everything is checked before the first file is written: the prefix, links at destinations, files the
 * Debian package owns, the executable to copy.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ExitCode } from '../errors.js';
import { loadAssets, packageRoot, runningAsSea, type AssetName, type Assets } from './assets.js';
import { dpkgOwned, PACKAGE } from './dpkg.js';
import { InstallError } from './errors.js';
import {
  kindOf,
  ownFolder,
  placeFile,
  placeNewFile,
  removePath,
  symlinkRefusal,
  type Source,
} from './files.js';
import { checkPrefix, DEFAULT_PREFIX, renderCron, renderShellHook, renderUnit } from './render.js';

export type TimerKind = 'systemd' | 'cron';

export interface InstallOptions {
  /** Where the executable goes: PREFIX/bin (default /usr/local). */
  prefix?: string | undefined;
  /** Stage everything under this folder, as packagers and tests do; nothing is enabled. */
  destdir?: string | undefined;
  /** The daily sync's kind; default: systemd when it runs here, else cron. */
  timer?: TimerKind | undefined;
  /** The executable to install; default: this one (single executable), else dist/incap-cert-linux-ARCH. */
  binary?: string | undefined;
  /** Check and report, write nothing. */
  dryRun?: boolean | undefined;
}

export type UninstallOptions = Omit<InstallOptions, 'timer' | 'binary'>;

export interface InstallStep {
  action: 'wrote' | 'kept' | 'removed' | 'enabled' | 'disabled' | 'would write' | 'would remove';
  path: string;
  mode?: number;
  note?: string;
}

export interface InstallReport {
  steps: InstallStep[];
  /** Where the executable is (or was), as on the installed system. */
  binary: string;
  timer: TimerKind | undefined;
}

/** The installed paths, as on the target system (without destdir). */
export interface Layout {
  bin: string;
  share: string;
  dropin: string;
  configDir: string;
  config: string;
  units: { service: string; timer: string };
  cron: string;
  stateDir: string;
}

export function layoutFor(prefix: string): Layout {
  return {
    bin: posix.join(prefix, 'bin', 'incap-cert'),
    share: posix.join(prefix, 'share', 'incap-cert'),
    dropin: '/etc/letsencrypt/renewal-hooks/deploy/incap-cert',
    configDir: '/etc/incap-cert',
    config: '/etc/incap-cert/config.json',
    units: {
      service: '/etc/systemd/system/incap-cert-sync.service',
      timer: '/etc/systemd/system/incap-cert-sync.timer',
    },
    cron: '/etc/cron.d/incap-cert',
    stateDir: '/var/lib/incap-cert',
  };
}

/**
 * Every asset with `prefix` written in where it names the executable. Also used by the Debian package build, so that
 * both ways of installing carry the same files.
 */
export function renderAssets(assets: Assets, prefix: string): Record<AssetName, string> {
  const binary = posix.join(prefix, 'bin', 'incap-cert');
  return {
    'hooks/certbot-deploy.sh': renderShellHook(
      assets['hooks/certbot-deploy.sh'],
      prefix,
      'hooks/certbot-deploy.sh',
    ),
    'hooks/dehydrated-hook.sh': renderShellHook(
      assets['hooks/dehydrated-hook.sh'],
      prefix,
      'hooks/dehydrated-hook.sh',
    ),
    'hooks/acme.sh/incap_cert.sh': renderShellHook(
      assets['hooks/acme.sh/incap_cert.sh'],
      prefix,
      'hooks/acme.sh/incap_cert.sh',
    ),
    'hooks/systemd/incap-cert-sync.service': renderUnit(
      assets['hooks/systemd/incap-cert-sync.service'],
      binary,
      'hooks/systemd/incap-cert-sync.service',
    ),
    'hooks/systemd/incap-cert-sync.timer': assets['hooks/systemd/incap-cert-sync.timer'],
    'hooks/cron/incap-cert': renderCron(assets['hooks/cron/incap-cert'], binary, 'hooks/cron/incap-cert'),
    'scripts/config.example.json': assets['scripts/config.example.json'],
  };
}

interface Planned {
  /** As on the target system. */
  path: string;
  source: Source;
  mode: number;
  /** Written only when nothing is there (the config template). */
  keep?: boolean;
}

export async function install(options: InstallOptions = {}): Promise<InstallReport> {
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
  const root = rootOf(options.destdir);
  const timer = options.timer ?? (existsSync('/run/systemd/system') ? 'systemd' : 'cron');
  const layout = layoutFor(prefix);
  const binary = await executableToInstall(options.binary);
  const files = renderAssets(await loadAssets(), prefix);
  const at = (path: string) => join(root || '/', path);

  const plan: Planned[] = [
    { path: layout.bin, source: { file: binary }, mode: 0o755 },
    {
      path: posix.join(layout.share, 'hooks', 'dehydrated-hook.sh'),
      source: { content: files['hooks/dehydrated-hook.sh'] },
      mode: 0o755,
    },
    {
      path: posix.join(layout.share, 'hooks', 'acme.sh', 'incap_cert.sh'),
      source: { content: files['hooks/acme.sh/incap_cert.sh'] },
      mode: 0o755,
    },
    { path: layout.dropin, source: { content: files['hooks/certbot-deploy.sh'] }, mode: 0o755 },
    {
      path: layout.config,
      source: { content: files['scripts/config.example.json'] },
      mode: 0o600,
      keep: true,
    },
    ...(timer === 'systemd'
      ? [
          {
            path: layout.units.service,
            source: { content: files['hooks/systemd/incap-cert-sync.service'] },
            mode: 0o644,
          },
          {
            path: layout.units.timer,
            source: { content: files['hooks/systemd/incap-cert-sync.timer'] },
            mode: 0o644,
          },
        ]
      : [{ path: layout.cron, source: { content: files['hooks/cron/incap-cert'] }, mode: 0o644 }]),
  ];
  const folders: [string, number][] = [
    [layout.share, 0o755],
    [posix.join(layout.share, 'hooks'), 0o755],
    [posix.join(layout.share, 'hooks', 'acme.sh'), 0o755],
    [layout.configDir, 0o700],
    [layout.stateDir, 0o700],
  ];
  const stale = timer === 'systemd' ? [layout.cron] : [layout.units.service, layout.units.timer];

  // Everything that could refuse, before anything is written.
  // The config is never overwritten, so it may be the package's conffile.
  const written = plan.filter((file) => file.keep !== true).map((file) => file.path);
  await refuseDpkgOwned(root, [...written, ...stale], 'install');
  for (const file of plan) {
    if (!file.keep && (await kindOf(at(file.path))) === 'link') throw symlinkRefusal(at(file.path));
  }
  for (const [folder] of folders) {
    const kind = await kindOf(at(folder));
    if (kind === 'link') throw symlinkRefusal(at(folder));
    if (kind !== undefined && kind !== 'folder')
      throw new InstallError(`${at(folder)} is not a folder; refusing`);
  }

  const report: InstallReport = { steps: [], binary: layout.bin, timer };
  if (options.dryRun === true) {
    for (const file of plan)
      report.steps.push({ action: 'would write', path: at(file.path), mode: file.mode });
    return report;
  }
  const live = isLive(root);
  const staging = await mkdtemp(join(tmpdir(), 'incap-cert-install-'));
  try {
    for (const [folder, mode] of folders) await ownFolder(at(folder), mode);
    for (const file of plan) {
      const dest = at(file.path);
      if (file.keep === true) {
        const wrote = await placeNewFile(dest, file.source, file.mode, staging);
        report.steps.push(
          wrote
            ? {
                action: 'wrote',
                path: dest,
                mode: file.mode,
                note: 'set api.id, api.key and sites, then run: incap-cert check',
              }
            : { action: 'kept', path: dest, note: 'the existing config' },
        );
      } else {
        await placeFile(dest, file.source, file.mode, staging);
        report.steps.push({ action: 'wrote', path: dest, mode: file.mode });
      }
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  if (timer === 'cron' && live && existsSync(at(layout.units.timer))) {
    await systemctl(['disable', '--now', 'incap-cert-sync.timer']);
    report.steps.push({ action: 'disabled', path: 'incap-cert-sync.timer' });
  }
  for (const path of stale) {
    if (await removePath(at(path))) {
      report.steps.push({ action: 'removed', path: at(path), note: `${timer} runs the sync now` });
    }
  }
  if (live) {
    await systemctl(['daemon-reload']);
    if (timer === 'systemd') {
      await systemctl(['enable', '--now', 'incap-cert-sync.timer']);
      report.steps.push({ action: 'enabled', path: 'incap-cert-sync.timer' });
    }
  }
  return report;
}

/** Removes what install wrote, but the config and the state folder (which may hold queued uploads). */
export async function uninstall(options: UninstallOptions = {}): Promise<InstallReport> {
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
  const root = rootOf(options.destdir);
  const layout = layoutFor(prefix);
  const at = (path: string) => join(root || '/', path);
  const targets = [
    layout.bin,
    layout.dropin,
    layout.units.service,
    layout.units.timer,
    layout.cron,
    layout.share,
  ];
  await refuseDpkgOwned(root, targets, 'uninstall');

  const report: InstallReport = { steps: [], binary: layout.bin, timer: undefined };
  if (options.dryRun === true) {
    for (const path of targets) {
      if ((await kindOf(at(path))) !== undefined)
        report.steps.push({ action: 'would remove', path: at(path) });
    }
    return report;
  }
  const live = isLive(root);
  if (live && existsSync(at(layout.units.timer))) {
    await systemctl(['disable', '--now', 'incap-cert-sync.timer']);
    report.steps.push({ action: 'disabled', path: 'incap-cert-sync.timer' });
  }
  for (const path of targets) {
    if (await removePath(at(path))) report.steps.push({ action: 'removed', path: at(path) });
  }
  if (live) await systemctl(['daemon-reload']);
  report.steps.push({
    action: 'kept',
    path: at(layout.config),
    note: `and ${at(layout.stateDir)} (queued uploads); remove them by hand if you want them gone`,
  });
  return report;
}

/** One line for a step, as the command prints it. */
export function describeStep(step: InstallStep): string {
  const mode = step.mode === undefined ? '' : ` (${step.mode.toString(8).padStart(4, '0')})`;
  switch (step.action) {
    case 'kept':
      return step.note === 'the existing config'
        ? `kept the existing ${step.path}`
        : `kept ${step.path} ${step.note ?? ''}`.trimEnd();
    default:
      return `${step.action} ${step.path}${mode}${step.note === undefined ? '' : `: ${step.note}`}`;
  }
}

function rootOf(destdir: string | undefined): string {
  if (destdir === undefined || destdir === '') return '';
  const root = resolve(destdir);
  return root === '/' ? '' : root;
}

/** The executable to copy: --binary, else this single executable, else the one npm run package wrote. */
async function executableToInstall(binary: string | undefined): Promise<string> {
  const file =
    binary !== undefined
      ? resolve(binary)
      : runningAsSea()
        ? process.execPath
        : join(packageRoot(), 'dist', `incap-cert-${process.platform}-${process.arch}`);
  const info = await stat(file).catch(() => undefined);
  if (info === undefined || !info.isFile()) {
    throw new InstallError(
      `no executable at ${file}: run 'npm run package' first, or name one with --binary`,
    );
  }
  return file;
}

async function refuseDpkgOwned(root: string, paths: readonly string[], action: string): Promise<void> {
  const owned = await dpkgOwned(root, paths);
  if (owned.length === 0) return;
  const how =
    action === 'install'
      ? `upgrade it with apt, or remove it (apt remove ${PACKAGE}) before installing by hand`
      : `remove it with: apt remove ${PACKAGE} (or apt purge ${PACKAGE})`;
  throw new InstallError(
    `refusing to ${action}: ${owned.join(', ')} belong${owned.length === 1 ? 's' : ''} to the Debian package ${PACKAGE}; ${how}`,
  );
}

/** Whether to reload and enable units: installing onto this very system, where systemd runs. */
function isLive(root: string): boolean {
  if (root !== '' || !existsSync('/run/systemd/system')) return false;
  return (process.env.PATH ?? '/usr/bin:/bin')
    .split(':')
    .some((dir) => dir !== '' && existsSync(join(dir, 'systemctl')));
}

const execFileAsync = promisify(execFile);

async function systemctl(args: string[]): Promise<void> {
  try {
    await execFileAsync('systemctl', args, { timeout: 60_000 });
  } catch (error) {
    const detail =
      ((error as { stderr?: string }).stderr ?? '').trim().split('\n')[0] || (error as Error).message;
    throw new InstallError(`systemctl ${args.join(' ')} failed: ${detail}`, ExitCode.SiteFailed);
  }
}
