import yargs from 'yargs';
import type { HookPlan } from '../engine/plan.js';
import { IncapCertError, UsageError } from '../errors.js';
import { createImpervaClient } from '../imperva/client.js';
import { ClientError, credentialsMessage, detailsOf, isCredentialsError } from '../imperva/errors.js';
import { Logger, type ConsoleStreams } from '../log/logger.js';
import { emptyReport, exitCodeOf, isReport } from '../report.js';
import { recordMetrics } from '../metrics/record.js';
import { openRun, type Deps, type RunContext } from '../run/context.js';
import type { CommandIO } from './command.js';
import { checkCommand } from './commands/check.js';
import { defaultCommand, deployCommand } from './commands/deploy.js';
import { installCommand, uninstallCommand } from './commands/install.js';
import { pushCommand } from './commands/push.js';
import { queueCommand } from './commands/queue.js';
import { statusCommand } from './commands/status.js';
import { syncCommand } from './commands/sync.js';
import { removeCommand } from './commands/remove.js';
import { verifyCommand } from './commands/verify.js';
import { COMMANDS, didYouMean, flagsOf, quickAnswer } from './help.js';
import { globalOptions } from './options.js';
import { isObject } from '../util/strict-json.js';

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
  return withoutHelpCache(
    yargs()
      .scriptName('incap-cert')
      .usage('$0 [command] [options]\n\nKeeps Imperva serving the certificates your ACME client renews.')
      .options(globalOptions)
      .command(deployCommand(io))
      .command(pushCommand(io))
      .command(checkCommand(io))
      .command(syncCommand(io))
      .command(statusCommand(io))
      .command(verifyCommand(io))
      .command(removeCommand(io))
      .command(queueCommand(io))
      .command(installCommand(io))
      .command(uninstallCommand(io))
      .command(defaultCommand(io))
      .strict()
      // --help, help COMMAND and --version are answered from src/cli/help.ts, before yargs is even loaded.
      .version(false)
      .help(false)
      .exitProcess(false)
      .fail((message, error) => {
        // yargs' own validation errors (YError) are usage errors; anything else came from a command.
        if (error !== undefined && error !== null && error.name !== 'YError') throw error;
        throw new UsageError(usageMessage(message ?? error?.message ?? 'bad command line', argv));
      }),
  );
}

/**
 * yargs renders a command's whole help text as it starts the command (`cacheHelpMessage`), in case a later failure
 * shows it. Ours never does (`.help(false)`: help comes from cli/help.ts), and the rendering cost every run about
 * 10 ms and the Unicode segmenter's data (string-width): it is made a no-op. Reached through yargs' internal
 * methods, by looking, so that a yargs without them leaves the parser as it was (test/unit/cli-parser.test.ts).
 */
export function withoutHelpCache<T extends object>(parser: T): T {
  const internal: unknown = Reflect.get(parser, 'getInternalMethods');
  if (typeof internal !== 'function') return parser;
  const methods: unknown = Reflect.apply(internal, parser, []);
  const usageOf: unknown = isObject(methods) ? methods.getUsageInstance : undefined;
  if (typeof usageOf !== 'function') return parser;
  const usage: unknown = Reflect.apply(usageOf, methods, []);
  if (isObject(usage) && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
  return parser;
}

/** yargs' own words, made one line that says what to do (and what was probably meant). */
export function usageMessage(message: string, argv: readonly string[]): string {
  const unknown = /^Unknown arguments?: (.+)$/.exec(message);
  if (unknown?.[1] !== undefined) {
    const first = argv[0];
    const commands = COMMANDS.map((spec) => spec.name);
    if (first !== undefined && !first.startsWith('-') && !commands.includes(first)) {
      // A mistyped command: its options are not the point.
      const guess = didYouMean(first, commands);
      return `unknown command or argument ${first}${guess === undefined ? '' : ` (did you mean ${guess}?)`}; see incap-cert --help`;
    }
    const command = commands.find((name) => name === first);
    const listed = unknown[1].split(', ');
    const kebab = (word: string) => word.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
    // yargs names an unknown --live-dr twice: as it is and camel-cased.
    const words = listed
      .filter((word) => kebab(word) === word || !listed.includes(kebab(word)))
      .map((word) => {
        const flag = word.length === 1 ? `-${word}` : `--${word}`;
        if (argv.some((arg) => arg === flag || arg.startsWith(`${flag}=`))) {
          const guess = didYouMean(word, flagsOf(command));
          return `option ${flag}${guess === undefined ? '' : ` (did you mean --${guess}?)`}`;
        }
        const guess =
          command === undefined
            ? didYouMean(
                word,
                COMMANDS.map((spec) => spec.name),
              )
            : undefined;
        return `command or argument ${word}${guess === undefined ? '' : ` (did you mean ${guess}?)`}`;
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
  const out = streams ?? { stdout: process.stdout, stderr: process.stderr };
  const quick = quickAnswer(argv);
  if (quick !== undefined) {
    if (quick.out !== undefined) out.stdout.write(quick.out);
    if (quick.err !== undefined) out.stderr.write(quick.err);
    return quick.code;
  }
  const logger = new Logger(streams);
  let outcome: unknown = emptyReport(argv[0] ?? 'deploy');
  let ctx: RunContext | undefined;
  try {
    await buildParser(
      {
        deps,
        logger,
        preplanned,
        finish: (report) => {
          outcome = report;
        },
        open: (command, options, loaded) => (ctx = openRun(command, options, deps, logger, loaded)),
      },
      argv,
    ).parseAsync([...argv]);
  } catch (thrown) {
    // Refused credentials say where the key came from, whichever command met them (remove, status...).
    const error =
      ctx !== undefined && thrown instanceof ClientError && isCredentialsError(thrown)
        ? new ClientError(
            credentialsMessage(thrown, ctx.config.api.keySource),
            detailsOf(thrown),
            'CREDENTIALS',
          )
        : thrown;
    outcome = error;
    tell(error, logger, argv.includes('--verbose'));
  }
  // A run stopped by a signal exits 128 + its number, whichever command it was and however it ended (status and
  // check stop their reads without a report that says so).
  const stoppedBy = signalName(deps.signal);
  if (stoppedBy !== undefined && isReport(outcome)) outcome.interrupted ??= stoppedBy;
  const code = exitCodeOf(outcome, stoppedBy);
  if (ctx !== undefined) await recordMetrics(ctx, outcome, code);
  // --json: one document on stdout whatever happened, never an empty stdout.
  if (argv.includes('--json'))
    out.stdout.write(`${logger.redactor.redact(JSON.stringify(jsonOf(outcome, code, argv)))}\n`);
  await logger.close();
  return code;
}

/** The --json document: always `ok`; every attempted site's outcome; `error` when the run failed before any site. */
function jsonOf(outcome: unknown, exitCode: number, argv: readonly string[]): Record<string, unknown> {
  if (isReport(outcome)) {
    const { command, sites, problems, interrupted, data } = outcome;
    return {
      ok: exitCode === 0,
      command,
      exitCode,
      sites,
      ...(problems.length === 0 ? {} : { problems: problems.map((problem) => problem.message) }),
      ...(interrupted === undefined ? {} : { interrupted }),
      ...data,
    };
  }
  const error =
    outcome instanceof IncapCertError
      ? { code: outcome.code, message: outcome.lines().join('; ') }
      : { code: 'INTERNAL', message: outcome instanceof Error ? outcome.message : String(outcome) };
  const command = argv.find((arg) => COMMANDS.some((spec) => spec.name === arg)) ?? 'deploy';
  return { ok: false, command, exitCode, sites: [], error };
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

/** The catchable signal that aborted the run, if one did (src/cli.ts aborts with the signal's name). */
function signalName(signal: AbortSignal | undefined): NodeJS.Signals | undefined {
  if (signal?.aborted !== true) return undefined;
  const reason: unknown = signal.reason;
  return typeof reason === 'string' && /^SIG[A-Z]+$/.test(reason) ? (reason as NodeJS.Signals) : 'SIGTERM';
}
