import type { Argv, CommandModule } from 'yargs';
import { ExitCode, UsageError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import type * as Core from '../install/install.js';
import { stringOption, type Deps, type GlobalFlags } from './context.js';

export interface InstallFlags extends GlobalFlags {
  prefix: string | undefined;
  destdir: string | undefined;
  systemd: boolean | undefined;
  cron: boolean | undefined;
  binary: string | undefined;
}

export type UninstallFlags = Omit<InstallFlags, 'systemd' | 'cron' | 'binary'>;

const prefixOption = {
  type: 'string',
  ...stringOption<string>('prefix'),
  describe: 'Where the executable goes: PREFIX/bin/incap-cert (default /usr/local)',
} as const;
const destdirOption = {
  type: 'string',
  ...stringOption<string>('destdir'),
  describe: 'Stage everything under this folder (env DESTDIR), as packagers do; nothing is enabled',
} as const;

/** The installer (src/install/) is loaded only for these commands: it brings fs-extra. */
async function run(
  logger: Logger,
  work: (core: typeof Core) => Promise<Core.InstallReport>,
): Promise<ExitCode> {
  const core = await import('../install/install.js');
  const report = await work(core);
  for (const step of report.steps) logger.info(core.describeStep(step));
  return ExitCode.Ok;
}

export function installCommand(
  deps: Deps,
  logger: Logger,
  done: (code: ExitCode) => void,
): CommandModule<GlobalFlags, InstallFlags> {
  return {
    command: 'install',
    describe: 'Install this executable, the hooks, the daily sync and a config template (as root)',
    builder: (yargs: Argv<GlobalFlags>) =>
      yargs
        .option('prefix', prefixOption)
        .option('destdir', destdirOption)
        .option('systemd', {
          type: 'boolean',
          default: false,
          describe: 'Run the daily sync with a systemd timer',
        })
        .option('cron', {
          type: 'boolean',
          describe: 'Run the daily sync from /etc/cron.d (default elsewhere)',
        })
        .option('binary', {
          type: 'string',
          ...stringOption<string>('binary'),
          describe: 'The executable to install (default: this one)',
        }) as unknown as Argv<InstallFlags>,
    handler: async (argv) => {
      logger.setVerbose(argv.verbose);
      if (argv.systemd === true && argv.cron === true) {
        throw new UsageError('--systemd and --cron exclude each other; see incap-cert --help');
      }
      done(
        await run(logger, (core) =>
          core.install({
            prefix: argv.prefix,
            destdir: argv.destdir ?? deps.env.DESTDIR,
            timer: argv.systemd === true ? 'systemd' : argv.cron === true ? 'cron' : undefined,
            binary: argv.binary,
            dryRun: argv['dry-run'],
          }),
        ),
      );
    },
  };
}

export function uninstallCommand(
  deps: Deps,
  logger: Logger,
  done: (code: ExitCode) => void,
): CommandModule<GlobalFlags, UninstallFlags> {
  return {
    command: 'uninstall',
    describe: 'Remove what install wrote, but the config and the state folder',
    builder: (yargs: Argv<GlobalFlags>) =>
      yargs
        .option('prefix', prefixOption)
        .option('destdir', destdirOption) as unknown as Argv<UninstallFlags>,
    handler: async (argv) => {
      logger.setVerbose(argv.verbose);
      done(
        await run(logger, (core) =>
          core.uninstall({
            prefix: argv.prefix,
            destdir: argv.destdir ?? deps.env.DESTDIR,
            dryRun: argv['dry-run'],
          }),
        ),
      );
    },
  };
}
