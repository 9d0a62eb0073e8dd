/**
 * `incap-cert install` and `incap-cert uninstall`: the one installer. The executable writes itself, the hooks, the
 * daily sync (systemd timer or cron line) and the config template to where a Certbot host expects them:
 *
 *   PREFIX/bin/incap-cert                                   the executable, 0755
 *   PREFIX/share/incap-cert/hooks/                          the dehydrated hook and the acme.sh plugin, 0755
 *   PREFIX/share/incap-cert/installed.json                  the record of what it wrote, 0644 (src/install/record.ts)
 *   /etc/letsencrypt/renewal-hooks/deploy/incap-cert        Certbot's drop-in, 0755
 *   /etc/incap-cert/config.json                             the config template, 0600 (folder 0700), never overwritten
 *   /etc/systemd/system/incap-cert-sync.{service,timer}     the daily sync where systemd runs (--systemd), 0644
 *   /etc/cron.d/incap-cert                                  or as a cron line (--cron), 0644
 *   /var/lib/incap-cert/                                    the state folder, 0700
 *   PREFIX/share/man/man1/incap-cert.1, man5/incap-cert-config.5    the man pages, 0644
 *   PREFIX/share/doc/incap-cert/                            the README and docs/, 0644
 *   PREFIX/share/bash-completion/completions/incap-cert     the bash completion for the prefixes /usr and /usr/local
 *                                                           (where bash-completion looks), else
 *                                                           /etc/bash_completion.d/incap-cert, 0644
 *   /etc/logrotate.d/incap-cert                             rotates the config's logFile, 0644; written only where
 *                                                           none is (or where the last install wrote it, unchanged)
 *
 * The config template keeps its onFailure mail command only where that mail program exists: without one, failure
 * mail would silently never leave, so it is left out, and install says so.
 *
 * Plain async functions — options in, a report out — that know nothing of yargs (src/cli/commands/install.ts wires
 * them in). Everything is checked before the first file is written: the prefix, symbolic links at destinations and
 * on the way to them, the record of the last install, files the Debian package owns, the executable to copy.
 * uninstall removes only what the record says install wrote and is unchanged, and the config and state folder never.
 */
import { execFile } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { access, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ExitCode } from '../model/errors.js';
import { printable } from '../util/printable.js';
import { parseStrictJson } from '../util/strict-json.js';
import { VERSION } from '../util/version.js';
import { DOC_NAMES, loadAssets, packageRoot, runningAsSea, type AssetName, type DocName } from './assets.js';
import { dpkgOwned, PACKAGE } from './dpkg.js';
import { InstallError } from './errors.js';
import {
  fileDigest,
  kindOf,
  ownFolder,
  placeFile,
  placeNewFile,
  readSmallFile,
  refuseLinksOnTheWay,
  removeEmptyFolder,
  removeFile,
  symlinkRefusal,
  type Source,
} from './files.js';
import { readRecord, RECORD_NAME, renderRecord, sha256, type InstallRecord } from './record.js';
import {
  checkPrefix,
  DEFAULT_PREFIX,
  renderCron,
  renderShellHook,
  renderTimer,
  renderUnit,
} from './render.js';
import { hostSchedule, type Schedule } from './schedule.js';

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
  /** The pages rendered from the command catalogue (src/cli/), which this layer cannot import. */
  pages: Pages;
}

/** incap-cert(1), incap-cert-config(5) and the bash completion script, as the command line renders them. */
export interface Pages {
  manual: string;
  configManual: string;
  completion: string;
}

export type UninstallOptions = Omit<InstallOptions, 'timer' | 'binary'>;

export interface InstallStep {
  action:
    | 'wrote'
    | 'kept'
    | 'removed'
    | 'enabled'
    | 'disabled'
    | 'would write'
    | 'would remove'
    | 'would keep'
    | 'left out'
    | 'would leave out'
    | 'found nothing';
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
  hooks: { dehydrated: string; acme: string };
  /** The install record: what install wrote, for uninstall (src/install/record.ts). */
  record: string;
  dropin: string;
  configDir: string;
  config: string;
  units: { service: string; timer: string };
  cron: string;
  stateDir: string;
  man: { manual: string; config: string };
  /** The package's doc folder: README.md and docs/ under it. */
  docDir: string;
  completion: string;
  logrotate: string;
}

export function layoutFor(prefix: string): Layout {
  const share = posix.join(prefix, 'share', 'incap-cert');
  const data = posix.join(prefix, 'share');
  return {
    bin: posix.join(prefix, 'bin', 'incap-cert'),
    share,
    hooks: {
      dehydrated: posix.join(share, 'hooks', 'dehydrated-hook.sh'),
      acme: posix.join(share, 'hooks', 'acme.sh', 'incap_cert.sh'),
    },
    record: posix.join(share, RECORD_NAME),
    dropin: '/etc/letsencrypt/renewal-hooks/deploy/incap-cert',
    configDir: '/etc/incap-cert',
    config: '/etc/incap-cert/config.json',
    units: {
      service: '/etc/systemd/system/incap-cert-sync.service',
      timer: '/etc/systemd/system/incap-cert-sync.timer',
    },
    cron: '/etc/cron.d/incap-cert',
    stateDir: '/var/lib/incap-cert',
    man: {
      manual: posix.join(data, 'man', 'man1', 'incap-cert.1'),
      config: posix.join(data, 'man', 'man5', 'incap-cert-config.5'),
    },
    docDir: posix.join(data, 'doc', 'incap-cert'),
    // bash-completion loads completions on demand from share/bash-completion/completions/ under /usr and /usr/local
    // (XDG_DATA_DIRS); from any other prefix it would never look, and /etc/bash_completion.d/ is read at every start.
    completion:
      prefix === '/usr' || prefix === '/usr/local'
        ? posix.join(data, 'bash-completion', 'completions', 'incap-cert')
        : '/etc/bash_completion.d/incap-cert',
    logrotate: '/etc/logrotate.d/incap-cert',
  };
}

/** Every file install writes (or keeps) for this layout and kind of timer: what is checked before anything is. */
function plannedPaths(layout: Layout, timer: TimerKind): string[] {
  return [
    layout.bin,
    layout.hooks.dehydrated,
    layout.hooks.acme,
    layout.dropin,
    layout.config,
    ...(timer === 'systemd' ? [layout.units.service, layout.units.timer] : [layout.cron]),
    layout.man.manual,
    layout.man.config,
    layout.completion,
    ...docPaths(layout).map(([, path]) => path),
    layout.logrotate,
  ];
}

/** Where each document goes: PREFIX/share/doc/incap-cert/README.md, .../docs/config.md. */
function docPaths(layout: Layout): [DocName, string][] {
  return DOC_NAMES.map((name) => [name, posix.join(layout.docDir, name)]);
}

/**
 * Every asset with `prefix` written in where it names the executable. Also used by the Debian package build, so that
 * both ways of installing carry the same files.
 */
export function renderAssets(
  assets: Readonly<Record<AssetName, string>>,
  prefix: string,
  schedule?: Schedule,
): Record<AssetName, string> {
  const binary = posix.join(prefix, 'bin', 'incap-cert');
  const timer = assets['hooks/systemd/incap-cert-sync.timer'];
  return {
    'scripts/config.example.json': assets['scripts/config.example.json'],
    'hooks/logrotate/incap-cert': assets['hooks/logrotate/incap-cert'],
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
    // Without a host's schedule (the Debian package), the files as shipped: see hooks/systemd/incap-cert-sync.timer.
    'hooks/systemd/incap-cert-sync.timer':
      schedule === undefined ? timer : renderTimer(timer, schedule, 'hooks/systemd/incap-cert-sync.timer'),
    'hooks/cron/incap-cert': renderCron(
      assets['hooks/cron/incap-cert'],
      binary,
      'hooks/cron/incap-cert',
      schedule,
    ),
  };
}

/** The template's one path line, which install replaces with the config's logFile. */
const LOGROTATE_PATH = /^\/var\/log\/incap-cert\.log \{$/m;

/**
 * The logrotate file for `logFile` (the config's; the template's path when undefined). logrotate reads a path in
 * double quotes as it is; one holding a quote or a backslash cannot be written there, and the template's is kept.
 */
export function renderLogrotate(text: string, logFile: string | undefined): string {
  if ((text.match(new RegExp(LOGROTATE_PATH.source, 'gm'))?.length ?? 0) !== 1) {
    throw new InstallError('hooks/logrotate/incap-cert has no single path line: a broken build');
  }
  // eslint-disable-next-line no-control-regex -- control characters are what is being refused
  if (logFile === undefined || !posix.isAbsolute(logFile) || /["\\\x00-\x1f\x7f]/.test(logFile)) return text;
  const path = posix.normalize(logFile);
  return path === '/var/log/incap-cert.log' ? text : text.replace(LOGROTATE_PATH, `"${path}" {`);
}

/**
 * The template without its onFailure line: the mail program it names is missing, and a command that cannot run
 * would hide every failure.
 */
export function withoutOnFailure(template: string): string {
  const text = template.replace(/,\n[ \t]*"onFailure": \[[^\n]*\]\n/, '\n');
  const parsed = parseStrictJson(text) as Record<string, unknown>;
  if (text === template || 'onFailure' in parsed) {
    throw new InstallError('scripts/config.example.json has no single onFailure line: a broken build');
  }
  return text;
}

/** The program the template's onFailure runs (/usr/bin/mail). */
function templateNotifier(template: string): string | undefined {
  const parsed = parseStrictJson(template) as { onFailure?: unknown };
  const program: unknown = Array.isArray(parsed.onFailure) ? parsed.onFailure[0] : undefined;
  return typeof program === 'string' ? program : undefined;
}

/** The logFile of the config at `file` when it is there and says one; undefined when anything is amiss. */
function configuredLogFile(file: string): string | undefined {
  try {
    // A config is at most 1 MiB (src/config/load.ts).
    const text = readSmallFile(file, 1024 * 1024, false);
    if (text === undefined) return undefined;
    const parsed = parseStrictJson(text) as { logFile?: unknown };
    return typeof parsed.logFile === 'string' ? parsed.logFile : undefined;
  } catch {
    return undefined;
  }
}

async function isExecutableFile(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile() !== true) return false;
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

interface Planned {
  /** As on the target system. */
  path: string;
  source: Source;
  mode: number;
  /** Written only when nothing is there (the config template, the logrotate file). */
  keep?: boolean;
  /** Whether the record names it, for uninstall: all but the config, which stays. */
  recorded: boolean;
}

export async function install(options: InstallOptions): Promise<InstallReport> {
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
  const root = rootOf(options.destdir);
  const timer = options.timer ?? (existsSync('/run/systemd/system') ? 'systemd' : 'cron');
  const layout = layoutFor(prefix);
  const binary = await executableToInstall(options.binary);
  const assets = await loadAssets();
  const schedule = hostSchedule(root);
  const files = renderAssets(assets, prefix, schedule);
  const at = (path: string) => join(root || '/', path);

  const folders: [string, number][] = [
    [layout.share, 0o755],
    [posix.dirname(layout.hooks.dehydrated), 0o755],
    [posix.dirname(layout.hooks.acme), 0o755],
    [layout.configDir, 0o700],
    [layout.stateDir, 0o700],
  ];
  const stale = timer === 'systemd' ? [layout.cron] : [layout.units.service, layout.units.timer];

  // Everything that could refuse, before anything is written.
  const everything = [
    ...plannedPaths(layout, timer),
    ...folders.map(([folder]) => folder),
    ...stale,
    layout.record,
  ];
  for (const path of everything) await refuseLinksOnTheWay(root, path);
  const previous = await readRecord(at(layout.record), prefix);
  // The template's notifier, where its mail program is missing on the installed system, would never send a word.
  const notifier = templateNotifier(files['scripts/config.example.json']);
  const mailless =
    notifier !== undefined &&
    (await kindOf(at(layout.config))) === undefined &&
    !(await isExecutableFile(at(notifier)));
  const template = mailless
    ? withoutOnFailure(files['scripts/config.example.json'])
    : files['scripts/config.example.json'];
  // Files every install shares whatever its prefix are rewritten only while they are as this prefix's last install
  // wrote them: another install's stay, and uninstall never takes them from under it.
  const ours = new Set<string>();
  for (const path of sharedFiles(layout)) {
    const before = previous?.files.find((file) => file.path === path)?.sha256;
    if (before !== undefined && (await fileDigest(at(path))) === before) ours.add(path);
  }
  const logrotate = renderLogrotate(
    files['hooks/logrotate/incap-cert'],
    configuredLogFile(at(layout.config)),
  );

  const page = (path: string, content: string): Planned => ({
    path,
    source: { content },
    mode: 0o644,
    recorded: true,
  });
  const plan: Planned[] = [
    { path: layout.bin, source: { file: binary }, mode: 0o755, recorded: true },
    {
      path: layout.hooks.dehydrated,
      source: { content: files['hooks/dehydrated-hook.sh'] },
      mode: 0o755,
      recorded: true,
    },
    {
      path: layout.hooks.acme,
      source: { content: files['hooks/acme.sh/incap_cert.sh'] },
      mode: 0o755,
      recorded: true,
    },
    {
      path: layout.dropin,
      source: { content: files['hooks/certbot-deploy.sh'] },
      mode: 0o755,
      recorded: true,
    },
    { path: layout.config, source: { content: template }, mode: 0o600, keep: true, recorded: false },
    ...(timer === 'systemd'
      ? [
          page(layout.units.service, files['hooks/systemd/incap-cert-sync.service']),
          page(layout.units.timer, files['hooks/systemd/incap-cert-sync.timer']),
        ]
      : [page(layout.cron, files['hooks/cron/incap-cert'])]),
    page(layout.man.manual, options.pages.manual),
    page(layout.man.config, options.pages.configManual),
    page(layout.completion, options.pages.completion),
    ...docPaths(layout).map(([name, path]) => page(path, assets[name])),
    page(layout.logrotate, logrotate),
  ].map((file) => (sharedFiles(layout).includes(file.path) ? { ...file, keep: !ours.has(file.path) } : file));
  // The config and the logrotate file are never overwritten but by their own install, so they may be the package's
  // conffiles.
  const written = plan.filter((file) => file.keep !== true).map((file) => file.path);
  await refuseDpkgOwned(root, [...written, ...stale, layout.record], 'install');
  for (const path of [...written, layout.record]) {
    const kind = await kindOf(at(path));
    if (kind === 'link') throw symlinkRefusal(at(path));
    if (kind !== undefined && kind !== 'file')
      throw new InstallError(`${at(path)} is not a regular file; refusing`);
  }
  for (const [folder] of folders) {
    const kind = await kindOf(at(folder));
    if (kind === 'link') throw symlinkRefusal(at(folder));
    if (kind !== undefined && kind !== 'folder')
      throw new InstallError(`${at(folder)} is not a folder; refusing`);
  }
  // What the other kind of timer left: removed only when it is this install's, as uninstall would.
  const leftovers = await judge(
    root,
    stale,
    await expectedDigests(layout, prefix, previous, undefined, options.pages, root, schedule),
    previous,
  );
  const made = await missingFolders(root, layout, everything);

  const report: InstallReport = { steps: [], binary: layout.bin, timer };
  if (options.dryRun === true) {
    for (const file of plan) {
      const there = file.keep === true && (await kindOf(at(file.path))) !== undefined;
      report.steps.push(
        there
          ? { action: 'would keep', path: at(file.path), note: 'the existing file' }
          : { action: 'would write', path: at(file.path), mode: file.mode },
      );
    }
    if (mailless) report.steps.push(leftOut(at(layout.config), notifier, true));
    report.steps.push({ action: 'would write', path: at(layout.record), mode: 0o644 });
    for (const file of leftovers) {
      if (file.verdict !== 'absent') report.steps.push(leftoverStep(file, at, timer, true));
    }
    return report;
  }
  const live = isLive(root);
  const recorded: InstallRecord['files'] = [];
  const staging = await mkdtemp(join(tmpdir(), 'incap-cert-install-'));
  try {
    for (const [folder, mode] of folders) await ownFolder(at(folder), mode);
    for (const file of plan) {
      const dest = at(file.path);
      if (file.keep === true) {
        const wrote = await placeNewFile(dest, file.source, file.mode, staging);
        const config = file.path === layout.config;
        if (wrote && file.recorded && 'content' in file.source)
          recorded.push({ path: file.path, sha256: sha256(file.source.content) });
        report.steps.push(
          wrote
            ? {
                action: 'wrote',
                path: dest,
                mode: file.mode,
                ...(config ? { note: 'set api.id, api.key and sites, then run: incap-cert check' } : {}),
              }
            : { action: 'kept', path: dest, note: config ? 'the existing config' : 'the existing file' },
        );
        if (wrote && config && mailless) report.steps.push(leftOut(dest, notifier, false));
      } else {
        recorded.push({ path: file.path, sha256: await placeFile(dest, file.source, file.mode, staging) });
        report.steps.push({ action: 'wrote', path: dest, mode: file.mode });
      }
    }
    const removing = leftovers.filter((file) => file.verdict === 'ours').map((file) => file.path);
    if (timer === 'cron' && live && removing.includes(layout.units.timer)) {
      await systemctl(['disable', '--now', 'incap-cert-sync.timer']);
      report.steps.push({ action: 'disabled', path: 'incap-cert-sync.timer' });
    }
    for (const file of leftovers) {
      if (file.verdict === 'ours') await removeFile(at(file.path));
      if (file.verdict !== 'absent') report.steps.push(leftoverStep(file, at, timer, false));
    }
    const record: InstallRecord = {
      format: 1,
      prefix,
      files: recorded,
      folders: [...new Set([...(previous?.folders ?? []), ...made])]
        .filter((folder) => removableFolders(layout).has(folder))
        .sort(),
    };
    await placeFile(at(layout.record), { content: renderRecord(record) }, 0o644, staging);
    report.steps.push({
      action: 'wrote',
      path: at(layout.record),
      mode: 0o644,
      note: 'the record of what install wrote, for uninstall',
    });
  } finally {
    await rm(staging, { recursive: true, force: true });
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

/**
 * Removes what install wrote and is still as it wrote it, and the folders it made once they are empty — never the
 * config or the state folder (which may hold queued uploads), never a file another install or a person changed since,
 * never a folder with what is in it. Without a record (an install older than it), a file counts as install's only
 * when it is byte for byte what install writes for this prefix.
 */
export async function uninstall(options: UninstallOptions): Promise<InstallReport> {
  const prefix = checkPrefix(options.prefix ?? DEFAULT_PREFIX);
  const root = rootOf(options.destdir);
  const layout = layoutFor(prefix);
  const at = (path: string) => join(root || '/', path);
  const report: InstallReport = { steps: [], binary: layout.bin, timer: undefined };

  for (const path of [...removableFiles(layout), layout.record]) await refuseLinksOnTheWay(root, path);
  const record = await readRecord(at(layout.record), prefix);
  const expected = await expectedDigests(
    layout,
    prefix,
    record,
    record === undefined ? await installableExecutable() : undefined,
    options.pages,
    root,
    hostSchedule(root),
  );
  const known = removableFiles(layout).filter(
    (path) => record !== undefined || !sharedFiles(layout).includes(path),
  );
  const recordedDocs = (record?.files ?? [])
    .map((file) => file.path)
    .filter((path) => !known.includes(path) && isRemovable(layout, path));
  const judged = await judge(root, [...known, ...recordedDocs], expected, record);
  for (const file of record?.files ?? []) {
    if (!isRemovable(layout, file.path)) judged.push({ path: file.path, verdict: 'unknown', byRecord: true });
  }
  const removing = judged.filter((file) => file.verdict === 'ours').map((file) => file.path);
  if (record === undefined && removing.length === 0) {
    // What stands under the prefix itself is named (an install older than the record, from another version); the
    // shared files in /etc may be another install's, and are not.
    const under = prefix === '/' ? '/' : `${prefix}/`;
    const there = judged.filter((file) => file.verdict !== 'absent' && file.path.startsWith(under));
    report.steps.push({
      action: 'found nothing',
      path: at(layout.record),
      note:
        there.length === 0
          ? `removed nothing: no incap-cert is installed with prefix ${prefix} (no install record, and no file as install writes it for that prefix)`
          : `removed nothing: there is no install record for prefix ${prefix}, and ${there.map((file) => at(file.path)).join(', ')} ${there.length === 1 ? 'is' : 'are'} not as install writes ${there.length === 1 ? 'it' : 'them'}; remove by hand what is incap-cert's`,
    });
    return report;
  }
  // Folders install made (the record says which), and its own folders under the prefix, deepest first: each goes
  // only once it is empty.
  const candidates = [
    ...new Set([
      ...(record?.folders ?? []),
      layout.share,
      ...Object.values(layout.hooks).map((file) => posix.dirname(file)),
    ]),
  ]
    .filter((folder) => removableFolders(layout).has(folder))
    .sort((a, b) => b.split('/').length - a.split('/').length || b.localeCompare(a));
  await refuseDpkgOwned(root, removing, 'uninstall');
  // dpkg lists the folders of the package's files too: those stay for apt to remove.
  const packaged = new Set(await dpkgOwned(root, candidates));
  const folders = candidates.filter((folder) => !packaged.has(folder));

  const dryRun = options.dryRun === true;
  const live = !dryRun && isLive(root);
  if (live && removing.includes(layout.units.timer)) {
    await systemctl(['disable', '--now', 'incap-cert-sync.timer']);
    report.steps.push({ action: 'disabled', path: 'incap-cert-sync.timer' });
  }
  for (const file of judged) {
    if (file.verdict === 'absent') continue;
    if (file.verdict === 'ours') {
      if (!dryRun) await removeFile(at(file.path));
      report.steps.push({ action: dryRun ? 'would remove' : 'removed', path: at(file.path) });
    } else {
      report.steps.push({
        action: dryRun ? 'would keep' : 'kept',
        path: at(file.path),
        note: keptNote(file),
      });
    }
  }
  if (record !== undefined) {
    if (!dryRun) await removeFile(at(layout.record));
    report.steps.push({ action: dryRun ? 'would remove' : 'removed', path: at(layout.record) });
  }
  for (const folder of folders) {
    if (dryRun) {
      if ((await kindOf(at(folder))) === 'folder')
        report.steps.push({ action: 'would remove', path: `${at(folder)}/`, note: 'if it is empty then' });
    } else if (await removeEmptyFolder(at(folder))) {
      report.steps.push({ action: 'removed', path: `${at(folder)}/` });
    }
  }
  if (live) await systemctl(['daemon-reload']);
  report.steps.push({
    action: 'kept',
    path: at(layout.config),
    note: `and ${at(layout.stateDir)} (queued uploads); remove them by hand if you want them gone`,
  });
  return report;
}

/** Every file install writes for a prefix and uninstall may remove: all but the config template, which stays. */
function removableFiles(layout: Layout): string[] {
  return [
    layout.bin,
    layout.hooks.dehydrated,
    layout.hooks.acme,
    layout.dropin,
    layout.units.service,
    layout.units.timer,
    layout.cron,
    layout.man.manual,
    layout.man.config,
    layout.completion,
    ...docPaths(layout).map(([, path]) => path),
    layout.logrotate,
  ];
}

/**
 * The files whose path and content are the same for every prefix: the logrotate file, and the completion where it
 * goes to /etc/bash_completion.d/. Written only where none is (or where this prefix's install wrote it, unchanged),
 * so one install never takes over another's; without a record, uninstall leaves them alone.
 */
function sharedFiles(layout: Layout): string[] {
  return [layout.logrotate, ...(layout.completion.startsWith('/etc/') ? [layout.completion] : [])];
}

/** A file of install's: one of removableFiles, or a document under the doc folder (an older install's docs). */
function isRemovable(layout: Layout, path: string): boolean {
  return removableFiles(layout).includes(path) || path.startsWith(`${layout.docDir}/`);
}

/** The line that says the config was written without onFailure, and why. */
function leftOut(config: string, notifier: string | undefined, dryRun: boolean): InstallStep {
  return {
    action: dryRun ? 'would leave out' : 'left out',
    path: config,
    note: `${notifier ?? 'the mail program'} is not installed, so no failure mail could be sent; install one (apt install bsd-mailx) and add onFailure back (incap-cert help config)`,
  };
}

/**
 * The folders on the way to those files, which uninstall removes when install made them and they are empty; never /,
 * the config's folder or the state folder.
 */
function removableFolders(layout: Layout): Set<string> {
  const folders = new Set<string>();
  for (const file of removableFiles(layout)) {
    for (let folder = posix.dirname(file); folder !== '/'; folder = posix.dirname(folder))
      folders.add(folder);
  }
  folders.delete(layout.configDir);
  folders.delete(layout.stateDir);
  return folders;
}

/** The folders on the way to `paths` (and the folders among them) that are not there yet: the ones install makes. */
async function missingFolders(root: string, layout: Layout, paths: readonly string[]): Promise<string[]> {
  const candidates = removableFolders(layout);
  const missing: string[] = [];
  for (const folder of candidates) {
    if (paths.some((path) => path.startsWith(`${folder}/`) || path === folder)) {
      if ((await kindOf(join(root || '/', folder))) === undefined) missing.push(folder);
    }
  }
  return missing;
}

/**
 * What each file must hash to to be install's: the record's digest; without a record, what install writes for this
 * prefix (the executable: this one, when it is at hand). A path with no digest is not install's.
 */
async function expectedDigests(
  layout: Layout,
  prefix: string,
  record: InstallRecord | undefined,
  executable: string | undefined,
  pages: Pages,
  root: string,
  schedule: Schedule,
): Promise<Map<string, string | undefined>> {
  if (record !== undefined) return new Map(record.files.map((file) => [file.path, file.sha256]));
  const assets = await loadAssets();
  const files = renderAssets(assets, prefix, schedule);
  const logFile = configuredLogFile(join(root || '/', layout.config));
  return new Map([
    [layout.man.manual, sha256(pages.manual)],
    [layout.man.config, sha256(pages.configManual)],
    [layout.completion, sha256(pages.completion)],
    ...docPaths(layout).map(([name, path]): [string, string] => [path, sha256(assets[name])]),
    [layout.logrotate, sha256(renderLogrotate(files['hooks/logrotate/incap-cert'], logFile))],
    [layout.bin, executable === undefined ? undefined : await fileDigest(executable)],
    [layout.hooks.dehydrated, sha256(files['hooks/dehydrated-hook.sh'])],
    [layout.hooks.acme, sha256(files['hooks/acme.sh/incap_cert.sh'])],
    [layout.dropin, sha256(files['hooks/certbot-deploy.sh'])],
    [layout.units.service, sha256(files['hooks/systemd/incap-cert-sync.service'])],
    [layout.units.timer, sha256(files['hooks/systemd/incap-cert-sync.timer'])],
    [layout.cron, sha256(files['hooks/cron/incap-cert'])],
  ]);
}

interface Judged {
  path: string;
  /**
   * ours: as install wrote it; absent: nothing there, or a file no record names (another install's); changed: it
   * differs from what install wrote (or, without a record, writes); other: not a regular file; with-service: the
   * timer, whose service stays; unknown: a path a record names that incap-cert never writes.
   */
  verdict: 'ours' | 'absent' | 'changed' | 'other' | 'with-service' | 'unknown';
  byRecord: boolean;
}

async function judge(
  root: string,
  paths: readonly string[],
  expected: ReadonlyMap<string, string | undefined>,
  record: InstallRecord | undefined,
): Promise<Judged[]> {
  const byRecord = record !== undefined;
  const judged: Judged[] = [];
  for (const path of paths) {
    const here = join(root || '/', path);
    const kind = await kindOf(here);
    const verdict =
      kind === undefined || (byRecord && !expected.has(path))
        ? 'absent'
        : kind !== 'file'
          ? 'other'
          : (await fileDigest(here)) === expected.get(path) && expected.get(path) !== undefined
            ? 'ours'
            : 'changed';
    judged.push({ path, verdict, byRecord });
  }
  // The timer's file is the same for every prefix: it goes only with the service it starts, never from under another
  // install's service.
  const service = judged.find((file) => file.path.endsWith('/incap-cert-sync.service'));
  const timer = judged.find((file) => file.path.endsWith('/incap-cert-sync.timer'));
  if (
    timer?.verdict === 'ours' &&
    service !== undefined &&
    service.verdict !== 'ours' &&
    service.verdict !== 'absent'
  )
    timer.verdict = 'with-service';
  return judged;
}

function keptNote(file: Judged): string {
  switch (file.verdict) {
    case 'changed':
      return file.byRecord
        ? '(changed since install wrote it; remove it by hand if you want it gone)'
        : '(not what install writes for this prefix; remove it by hand if it is yours)';
    case 'other':
      return '(not a regular file, so not one install wrote)';
    case 'with-service':
      return '(the timer of incap-cert-sync.service, which stays)';
    default:
      return '(named by the install record, but not a file incap-cert installs)';
  }
}

/** A leftover of the other kind of timer: removed when it is this install's, else kept and named. */
function leftoverStep(
  file: Judged,
  at: (path: string) => string,
  timer: TimerKind,
  dryRun: boolean,
): InstallStep {
  if (file.verdict === 'ours') {
    return dryRun
      ? { action: 'would remove', path: at(file.path), note: `${timer} runs the sync now` }
      : { action: 'removed', path: at(file.path), note: `${timer} runs the sync now` };
  }
  return { action: dryRun ? 'would keep' : 'kept', path: at(file.path), note: keptNote(file) };
}

/** One line for a step, as the command prints it. */
export function describeStep(step: InstallStep): string {
  const mode = step.mode === undefined ? '' : ` (${step.mode.toString(8).padStart(4, '0')})`;
  switch (step.action) {
    case 'kept':
    case 'would keep':
      return step.note === 'the existing config' || step.note === 'the existing file'
        ? `${step.action} the existing ${step.path}`
        : `${step.action} ${step.path} ${step.note ?? ''}`.trimEnd();
    case 'left out':
    case 'would leave out':
      return `${step.action} onFailure from ${step.path}: ${step.note ?? ''}`;
    case 'found nothing':
      return step.note ?? step.action;
    default:
      return `${step.action} ${step.path}${mode}${step.note === undefined ? '' : `: ${step.note}`}`;
  }
}

function rootOf(destdir: string | undefined): string {
  if (destdir === undefined || destdir === '') return '';
  const root = resolve(destdir);
  return root === '/' ? '' : root;
}

/** The executable install copies by default: this single executable, else the one npm run package wrote. */
function defaultExecutable(): string {
  return runningAsSea()
    ? process.execPath
    : join(packageRoot(), 'dist', `incap-cert-${process.platform}-${process.arch}`);
}

/** The executable to copy: --binary, else the default one; refused unless it says it is this very version. */
async function executableToInstall(binary: string | undefined): Promise<string> {
  const file = binary !== undefined ? resolve(binary) : defaultExecutable();
  const info = await stat(file).catch(() => undefined);
  if (info === undefined || !info.isFile()) {
    throw new InstallError(
      `no executable at ${file}: run 'npm run package' first, or name one with --binary`,
    );
  }
  if (!(runningAsSea() && file === process.execPath)) await refuseOtherVersion(file);
  return file;
}

/** How long `FILE --version` may take. */
const VERSION_TIMEOUT_MS = 10_000;

/**
 * Refuses (exit 2) an executable whose `--version`, run with an empty environment, does not say `incap-cert VERSION`
 * (this installer's version): the hooks, units and pages written beside it are
 * this version's, and a wrong file at PREFIX/bin/incap-cert would be what Certbot runs at every renewal.
 */
async function refuseOtherVersion(file: string): Promise<void> {
  const expected = `incap-cert ${VERSION}`;
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(file, ['--version'], {
      env: {},
      timeout: VERSION_TIMEOUT_MS,
      maxBuffer: 64 * 1024,
      encoding: 'utf8',
    }));
  } catch (error) {
    const failure = error as { killed?: boolean; code?: unknown; signal?: string | null };
    const why =
      failure.killed === true
        ? `did not answer --version within ${VERSION_TIMEOUT_MS / 1000} s`
        : typeof failure.code === 'string'
          ? `could not be run (${failure.code})`
          : `failed on --version (${failure.signal ?? `exit ${String(failure.code)}`})`;
    throw new InstallError(`refusing ${file}: it ${why}; it must say ${expected}`, ExitCode.Usage);
  }
  const said = stdout.split('\n')[0]?.trim() ?? '';
  if (said === expected) return;
  const shown = printable(said.length > 80 ? `${said.slice(0, 80)}...` : said);
  throw new InstallError(
    `refusing ${file}: its --version says ${JSON.stringify(shown)}, not ${expected}`,
    ExitCode.Usage,
  );
}

/** The default executable when it is there (without a record, uninstall removes only a copy of it). */
async function installableExecutable(): Promise<string | undefined> {
  const file = defaultExecutable();
  return (await stat(file).catch(() => undefined))?.isFile() === true ? file : undefined;
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
