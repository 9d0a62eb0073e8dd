import { UsageError } from '../../errors.js';
import type * as Core from '../../install/install.js';
import { emptyReport, type Report } from '../../report.js';
import { defineCommand, type CommandIO } from '../command.js';
import { installFlags, uninstallFlags } from '../options.js';

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

export const installCommand = (io: CommandIO) =>
  defineCommand({
    command: 'install',
    describe: 'Install this executable, the hooks, the daily sync and a config template (as root)',
    options: installFlags,
    run: (argv) => {
      if (argv.systemd && argv.cron) {
        throw new UsageError('--systemd and --cron exclude each other; see incap-cert install --help');
      }
      return run(io, argv.verbose, argv.quiet || argv.json, (core) =>
        core.install({
          prefix: argv.prefix,
          destdir: argv.destdir ?? io.deps.env.DESTDIR,
          timer: argv.systemd ? 'systemd' : argv.cron ? 'cron' : undefined,
          binary: argv.binary,
          dryRun: argv['dry-run'],
        }),
      );
    },
    io,
  });

export const uninstallCommand = (io: CommandIO) =>
  defineCommand({
    command: 'uninstall',
    describe: 'Remove what install wrote, but the config and the state folder',
    options: uninstallFlags,
    run: (argv) =>
      run(io, argv.verbose, argv.quiet || argv.json, (core) =>
        core.uninstall({
          prefix: argv.prefix,
          destdir: argv.destdir ?? io.deps.env.DESTDIR,
          dryRun: argv['dry-run'],
        }),
      ),
    io,
  });
