import yargs from 'yargs';
import type { HookPlan } from '../engine/plan.js';
import { IncapCertError, UsageError } from '../errors.js';
import { createImpervaClient } from '../imperva/client.js';
import { Logger, type ConsoleStreams } from '../log/logger.js';
import { emptyReport, exitCodeOf } from '../report.js';
import type { Deps } from '../run/context.js';
import { VERSION } from '../version.js';
import type { CommandIO } from './command.js';
import { checkCommand } from './commands/check.js';
import { defaultCommand, deployCommand } from './commands/deploy.js';
import { pushCommand } from './commands/push.js';
import { statusCommand } from './commands/status.js';
import { syncCommand } from './commands/sync.js';
import { globalOptions } from './options.js';

export const defaultDeps = (env: Deps['env'] = process.env, signal?: AbortSignal): Deps => ({
  env,
  now: () => new Date(),
  createClient: createImpervaClient,
  signal,
});

/**
 * The command line. Built fresh for every run (no module-level parser), with the dependencies injected, so that
 * tests can run it in-process. Each command hands its report to `io.finish`.
 */
export function buildParser(io: CommandIO, argv: readonly string[] = []) {
  return yargs()
    .scriptName('incap-cert')
    .usage('$0 [command] [options]\n\nKeeps Imperva serving the certificates your ACME client renews.')
    .options(globalOptions)
    .command(deployCommand(io))
    .command(pushCommand(io))
    .command(checkCommand(io))
    .command(syncCommand(io))
    .command(statusCommand(io))
    .command(defaultCommand(io))
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
    });
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
 * Runs one command line and returns the exit code (src/report.ts decides it). An expected failure is one line on
 * stderr (several for a config with several problems), never a stack trace.
 */
export async function main(
  argv: readonly string[],
  deps: Deps = defaultDeps(),
  streams?: ConsoleStreams,
  preplanned?: HookPlan,
): Promise<number> {
  const logger = new Logger(streams);
  let outcome: unknown = emptyReport('none');
  try {
    await buildParser(
      {
        deps,
        logger,
        preplanned,
        finish: (report) => {
          outcome = report;
        },
      },
      argv,
    ).parseAsync([...argv]);
  } catch (error) {
    outcome = error;
    tell(error, logger, argv.includes('--verbose'));
  }
  await logger.close();
  return exitCodeOf(outcome);
}

function tell(error: unknown, logger: Logger, verbose: boolean): void {
  if (error instanceof IncapCertError) {
    for (const line of error.lines()) logger.error(line, { code: error.code });
    return;
  }
  // A bug, not an expected failure: still one line, and the stack only when asked for (redacted like the rest).
  const message = error instanceof Error ? error.message : String(error);
  logger.error(`internal error: ${message}`);
  if (verbose && error instanceof Error && error.stack !== undefined) logger.debug(error.stack);
}
