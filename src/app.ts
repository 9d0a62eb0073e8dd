import yargs, { type Argv } from 'yargs';
import { checkCommand } from './commands/check.js';
import { stringOption, type Deps, type GlobalFlags } from './commands/context.js';
import { deploy, deployCommand } from './commands/deploy.js';
import { installCommand, uninstallCommand } from './commands/install.js';
import { pushCommand } from './commands/push.js';
import { statusCommand } from './commands/status.js';
import { syncCommand } from './commands/sync.js';
import { createImpervaClient } from './imperva/client.js';
import { ExitCode, IncapCertError, UsageError } from './errors.js';
import { Logger, type ConsoleStreams } from './log/logger.js';
import { isHookEnvironment } from './sources/env.js';
import { VERSION } from './version.js';

export const defaultDeps = (env: Deps['env'] = process.env): Deps => ({
  env,
  now: () => new Date(),
  createClient: createImpervaClient,
});

/**
 * The command line. Built fresh for every run (no module-level parser), with the dependencies injected, so that
 * tests can run it in-process. `done` receives the command's exit code.
 */
export function buildParser(
  deps: Deps,
  logger: Logger,
  done: (code: ExitCode) => void,
  argv: readonly string[] = [],
): Argv<GlobalFlags> {
  return yargs()
    .scriptName('incap-cert')
    .usage('$0 [command] [options]\n\nKeeps Imperva serving the certificates your ACME client renews.')
    .option('config', {
      type: 'string',
      ...stringOption<string>('config'),
      describe: 'Config file (env INCAP_CERT_CONFIG; default /etc/incap-cert/config.json)',
    })
    .option('dry-run', {
      type: 'boolean',
      default: false,
      describe: 'Do everything but the upload; print the plan',
    })
    .option('verbose', { type: 'boolean', default: false, describe: 'Say more (never secrets)' })
    .option('log-file', {
      type: 'string',
      ...stringOption<string>('log-file'),
      describe: 'Also append JSON lines to this file (mode 0600)',
    })
    .command(deployCommand(deps, logger, done))
    .command(pushCommand(deps, logger, done))
    .command(checkCommand(deps, logger, done))
    .command(syncCommand(deps, logger, done))
    .command(statusCommand(deps, logger, done))
    .command(installCommand(deps, logger, done))
    .command(uninstallCommand(deps, logger, done))
    .command({
      command: '$0',
      describe: false,
      handler: async (argv) => {
        // `--deploy-hook /usr/local/bin/incap-cert` runs us with no command: behave as deploy.
        if (!isHookEnvironment(deps.env)) {
          throw new UsageError(
            'no command given (deploy, push, check, sync or status); see incap-cert --help',
          );
        }
        done(await deploy(argv as unknown as GlobalFlags, deps, logger));
      },
    })
    .strict()
    .version(VERSION)
    .help()
    .alias('help', 'h')
    .wrap(Math.min(110, process.stdout.columns || 110))
    .exitProcess(false)
    .fail((message, error) => {
      // yargs' own validation errors (YError) are usage errors; anything else came from a command.
      if (error !== undefined && error !== null && error.name !== 'YError') throw error;
      throw new UsageError(usageMessage(message ?? error?.message ?? 'bad command line', argv));
    }) as unknown as Argv<GlobalFlags>;
}

/** yargs' own words, made one line that says what to do. */
export function usageMessage(message: string, argv: readonly string[]): string {
  const unknown = /^Unknown arguments?: (.+)$/.exec(message);
  if (unknown?.[1] !== undefined) {
    const words = unknown[1].split(', ').map((word) => {
      const flag = word.length === 1 ? `-${word}` : `--${word}`;
      return argv.some((arg) => arg === flag || arg.startsWith(`${flag}=`))
        ? `option ${flag}`
        : `command or argument ${word}`;
    });
    return `unknown ${words.join(', ')}; see incap-cert --help`;
  }
  const missing = /^Not enough arguments following: (.+)$/.exec(message);
  if (missing?.[1] !== undefined) return `--${missing[1]} needs a value; see incap-cert --help`;
  const line = message.replace(/\s*\n\s*/g, ' ');
  return line.endsWith('see incap-cert --help') ? line : `${line}; see incap-cert --help`;
}

/**
 * Runs one command line and returns the exit code. The one place where errors become exit codes: an expected
 * failure is one line on stderr (several for a config with several problems), never a stack trace.
 */
export async function main(
  argv: readonly string[],
  deps: Deps = defaultDeps(),
  streams?: ConsoleStreams,
): Promise<number> {
  const logger = new Logger(streams);
  let exitCode: ExitCode = ExitCode.Ok;
  try {
    await buildParser(
      deps,
      logger,
      (code) => {
        exitCode = code;
      },
      argv,
    ).parseAsync([...argv]);
  } catch (error) {
    exitCode = report(error, logger, argv.includes('--verbose'));
  }
  await logger.close();
  return exitCode;
}

function report(error: unknown, logger: Logger, verbose: boolean): ExitCode {
  if (error instanceof IncapCertError) {
    const lines =
      'issues' in error && Array.isArray(error.issues) ? (error.issues as string[]) : [error.message];
    for (const line of lines) logger.error(line, { code: error.code });
    return error.exitCode;
  }
  // A bug, not an expected failure: still one line, and the stack only when asked for (redacted like the rest).
  const message = error instanceof Error ? error.message : String(error);
  logger.error(`internal error: ${message}`);
  if (verbose && error instanceof Error && error.stack !== undefined) logger.debug(error.stack);
  return ExitCode.SiteFailed;
}
