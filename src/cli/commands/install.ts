import { UsageError } from '../../model/errors.js';
import type * as Core from '../../install/install.js';
import { emptyReport, type Report } from '../../model/report.js';
import { defineCommand, type CommandIO } from '../command.js';
import { installFlags, uninstallFlags, type GlobalName } from '../options.js';

/** The installer reads no config and opens no run: no log file, no metrics. */
const INSTALL_GLOBALS: readonly GlobalName[] = ['dry-run', 'verbose', 'quiet'];

/** The installer (src/install/) is loaded only for these commands: it brings fs-extra. */
async function run(
  io: CommandIO,
  verbose: boolean,
  quiet: boolean,
  work: (core: typeof Core) => Promise<Core.InstallReport>,
): Promise<Report> {
  io.logger.setVerbose(verbose);
  io.logger.setQuiet(quiet);
  const core = await import('../../install/install.js');
  const report = await work(core);
  for (const step of report.steps) io.logger.info(core.describeStep(step));
  return {
    ...emptyReport('install'),
    data: { steps: report.steps, binary: report.binary, timer: report.timer },
  };
}

/** The man pages and the completion, rendered from the catalogue (loaded here: it lists this very command). */
async function pagesFor(prefix: string | undefined): Promise<Core.Pages> {
  const [
    { COMMANDS },
    { manPage },
    { configManPage },
    { completionScript },
    { checkPrefix, DEFAULT_PREFIX },
  ] = await Promise.all([
    import('../catalogue.js'),
    import('../man.js'),
    import('../config-page.js'),
    import('../completion.js'),
    import('../../install/render.js'),
  ]);
  return {
    // No date: an install has no release date to give, and the same page on every install lets uninstall know it.
    manual: manPage(COMMANDS, { date: '', prefix: checkPrefix(prefix ?? DEFAULT_PREFIX) }),
    configManual: configManPage({ date: '' }),
    completion: completionScript(COMMANDS),
  };
}

export const installCommand = defineCommand({
  name: 'install',
  usage: 'incap-cert install [--prefix DIR] [--destdir DIR] [--systemd | --cron] [options]',
  summary:
    "Install this executable, Certbot's drop-in, the dehydrated and acme.sh hooks, the daily sync and a config " +
    'template (never overwritten). Run as root.',
  options: installFlags,
  globals: INSTALL_GLOBALS,
  examples: [['sudo ./incap-cert-linux-x64 install --systemd', 'the usual install']],
  run: (argv, io) => {
    if (argv.systemd && argv.cron) {
      throw new UsageError('--systemd and --cron exclude each other; see incap-cert install --help');
    }
    return run(io, argv.verbose, argv.quiet || argv.json, async (core) =>
      core.install({
        pages: await pagesFor(argv.prefix),
        prefix: argv.prefix,
        destdir: argv.destdir ?? io.deps.env.DESTDIR,
        timer: argv.systemd ? 'systemd' : argv.cron ? 'cron' : undefined,
        binary: argv.binary,
        dryRun: argv['dry-run'],
      }),
    );
  },
});

export const uninstallCommand = defineCommand({
  name: 'uninstall',
  usage: 'incap-cert uninstall [--prefix DIR] [--destdir DIR] [options]',
  summary:
    'Remove what install wrote; keeps the config and the state folder (it may hold uploads still owed).',
  options: uninstallFlags,
  globals: INSTALL_GLOBALS,
  examples: [['sudo incap-cert uninstall', '']],
  run: (argv, io) =>
    run(io, argv.verbose, argv.quiet || argv.json, async (core) =>
      core.uninstall({
        pages: await pagesFor(argv.prefix),
        prefix: argv.prefix,
        destdir: argv.destdir ?? io.deps.env.DESTDIR,
        dryRun: argv['dry-run'],
      }),
    ),
});
