import { Answer } from './cli/command.js';
import { COMMAND_NAMES } from './cli/catalogue.js';
import { jsonSwitch } from './cli/options.js';
import { buildParser } from './cli/parser.js';
import { ExitCode, IncapCertError } from './model/errors.js';
import { createImpervaClient } from './imperva/client.js';
import { ClientError, credentialsMessage, detailsOf, isCredentialsError } from './imperva/errors.js';
import { Logger, type ConsoleStreams } from './log/logger.js';
import { recordMetrics } from './metrics/record.js';
import { emptyReport, isReport } from './model/report.js';
import { exitCodeOf } from './model/exit-code.js';
import { openRun, type Deps, type RunContext } from './run/context.js';
import { SharedPace } from './state/pace.js';
import { printableJson } from './util/printable.js';

export const defaultDeps = (env: Deps['env'] = process.env, signal?: AbortSignal): Deps => ({
  env,
  now: () => new Date(),
  createClient: createImpervaClient,
  signal,
  sharedPace: (...args) => new SharedPace(...args),
});

/** The signals a run is asked to stop with, and their numbers (the same on every Linux). */
const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

/**
 * Asked to stop (SIGTERM from systemd or lego's hook timeout, ^C, a closed terminal): every site not yet delivered
 * is already recorded as owed (intent is written before the first upload); the run records what it finished and
 * exits 128 + the signal's number. A second signal, or a run that cannot settle within a few seconds, ends at once.
 * Returns the signal that a run hands to main (Deps.signal).
 */
export function stopOnSignals(): AbortSignal {
  const stop = new AbortController();
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => {
      const code = 128 + SIGNAL_NUMBERS[signal];
      if (stop.signal.aborted) process.exit(code); // eslint-disable-line no-restricted-properties
      stop.abort(signal);
      // Only a run that is still busy when it fires is ended by it.
      // eslint-disable-next-line no-restricted-properties
      setTimeout(() => process.exit(code), 5_000).unref();
    });
  }
  return stop.signal;
}

/**
 * Runs one command line and returns the exit code (src/model/exit-code.ts decides it): the one place where a run ends, and
 * its --json document, its metrics and its log are settled. An expected failure is one line on stderr (several for
 * a config with several problems), never a stack trace. Help, --version and completion are printed as they are.
 */
export async function main(
  given: readonly string[],
  deps: Deps = defaultDeps(),
  streams: ConsoleStreams = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  // Output that cannot be written (a reader gone, stdout or stderr closed or full) is not a failure of ours: the
  // logger guards both streams (src/log/guard.ts) before anything is written.
  const logger = new Logger(streams);
  const { json, argv, problem } = jsonSwitch(given);
  let outcome: unknown;
  let ctx: RunContext | undefined;
  // --json: one document on stdout whatever happened, never an empty stdout — also when the process is left before
  // this function returns (a second signal, a wait that does not end within stopOnSignals' grace, an event loop
  // with nothing left to wait for). An 'exit' listener may only write synchronously, which stdout on a file, a pipe
  // or a terminal is on Linux.
  let told = false;
  const tellJson = (doc: Record<string, unknown>) => {
    told = true;
    streams.stdout.write(`${printableJson(logger.redactor.redact(JSON.stringify(doc)))}\n`);
  };
  const lastWords = (code: number) => {
    if (told) return;
    const stoppedBy = signalName(deps.signal);
    // Leaving with 0 before the outcome was settled is not a success.
    const exitCode = code === 0 ? ExitCode.SiteFailed : code;
    process.exitCode = exitCode;
    tellJson(unsettledJson(outcome, exitCode, argv, stoppedBy));
  };
  if (json) process.once('exit', lastWords);
  try {
    if (problem !== undefined) throw problem;
    await buildParser(
      {
        deps,
        logger,
        finish: (done) => {
          outcome = done;
        },
        open: (command, options, loaded) => (ctx = openRun(command, options, deps, logger, loaded)),
      },
      argv,
    ).parseAsync([...argv]);
  } catch (thrown) {
    outcome = thrown instanceof Answer ? thrown : refine(thrown, ctx);
    if (!(thrown instanceof Answer)) tell(outcome, logger, argv.includes('--verbose'));
  }
  if (outcome instanceof Answer) {
    process.off('exit', lastWords);
    if (json)
      tellJson({
        ok: true,
        command: outcome.command,
        exitCode: 0,
        ...(outcome.fields ?? { text: outcome.text }),
      });
    else streams.stdout.write(outcome.text);
    await logger.close();
    return 0;
  }
  outcome ??= emptyReport(commandOf(argv));
  // A run stopped by a signal exits 128 + its number, whichever command it was and however it ended (status and
  // check stop their reads without a report that says so).
  const stoppedBy = signalName(deps.signal);
  if (stoppedBy !== undefined && isReport(outcome)) outcome.interrupted ??= stoppedBy;
  const code = exitCodeOf(outcome, stoppedBy);
  if (ctx !== undefined) await recordMetrics(ctx, outcome, code);
  if (json) {
    const doc = jsonOf(outcome, code, argv);
    // A run stopped during a wait that then failed (the queue's lock) says it was stopped, as a report would.
    if (stoppedBy !== undefined && !isReport(outcome)) doc.interrupted = stoppedBy;
    tellJson(doc);
  }
  process.off('exit', lastWords);
  await logger.close();
  return code;
}

/** Refused credentials say where the key came from, whichever command met them (remove, status...). */
function refine(thrown: unknown, ctx: RunContext | undefined): unknown {
  return ctx !== undefined && thrown instanceof ClientError && isCredentialsError(thrown)
    ? new ClientError(credentialsMessage(thrown, ctx.config.api.keySource), detailsOf(thrown), 'CREDENTIALS')
    : thrown;
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
  return { ok: false, command: commandOf(argv), exitCode, sites: [], error };
}

/**
 * The document of a run that the process leaves before main settled it: the command's report if it had handed one
 * over, else an error that says the run did not finish (what it did is in the log and, for uploads, the queue).
 */
function unsettledJson(
  outcome: unknown,
  exitCode: number,
  argv: readonly string[],
  stoppedBy: NodeJS.Signals | undefined,
): Record<string, unknown> {
  if (isReport(outcome))
    return jsonOf({ ...outcome, interrupted: outcome.interrupted ?? stoppedBy }, exitCode, argv);
  if (outcome !== undefined) return jsonOf(outcome, exitCode, argv);
  const unfinished =
    stoppedBy === undefined
      ? new IncapCertError('the run ended before it finished', 'INTERNAL', exitCode)
      : new IncapCertError(`stopped by ${stoppedBy} before the run finished`, 'INTERRUPTED', exitCode);
  return {
    ...jsonOf(unfinished, exitCode, argv),
    ...(stoppedBy === undefined ? {} : { interrupted: stoppedBy }),
  };
}

/** The command a command line names, deploy when it names none (Certbot's hook). */
function commandOf(argv: readonly string[]): string {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).find((arg) => COMMAND_NAMES.includes(arg)) ?? 'deploy';
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

/** The catchable signal that aborted the run, if one did (stopOnSignals aborts with the signal's name). */
function signalName(signal: AbortSignal | undefined): NodeJS.Signals | undefined {
  if (signal?.aborted !== true) return undefined;
  const reason: unknown = signal.reason;
  return typeof reason === 'string' && /^SIG[A-Z]+$/.test(reason) ? (reason as NodeJS.Signals) : 'SIGTERM';
}
