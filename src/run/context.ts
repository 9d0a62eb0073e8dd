import type { LookupFunction } from 'node:net';
import { deadlinesOf } from '../config/deadline.js';
import { loadConfig, type Config, type Env } from '../config/load.js';
import type { ClientOptions, ImpervaClient } from '../imperva/client.js';
import type { Log } from '../log/logger.js';
import type { Redactor } from '../log/redact.js';

/** What a run needs from outside: injected so that tests can run commands in-process. */
export interface Deps {
  env: Env;
  now: () => Date;
  createClient: (api: Config['api'], options: ClientOptions) => Promise<ImpervaClient>;
  /** Aborted when the process is asked to stop (SIGTERM, SIGINT, SIGHUP): record what is owed, start nothing new. */
  signal?: AbortSignal | undefined;
  /** How host names are resolved (the API, the edge): tests never ask a real DNS server. */
  lookup?: LookupFunction | undefined;
  /** The pace shared between runs in the state folder (src/state/pace.ts); without it each run learns its own. */
  sharedPace?:
    | ((
        stateDir: string,
        log: Log,
        now: () => Date,
        run: { endsAt: number; signal: AbortSignal },
      ) => PaceLink)
    | undefined;
}

/** A pace shared between runs: read as the client is made, told what 429s teach, written after the uploads. */
export interface PaceLink {
  start(): Promise<number | undefined>;
  learn(perSecond: number): void;
  save(): Promise<void>;
}

/** The options every command takes, whatever the command line called them. */
export interface RunOptions {
  config: string | undefined;
  dryRun: boolean;
  verbose: boolean;
  /** Only warnings and errors on the console (also under --json). */
  quiet: boolean;
  logFile: string | undefined;
  metricsFile: string | undefined;
}

/** What a command's run holds: the config, the logger, and the Imperva client, made on first need. */
export interface RunContext {
  command: string;
  config: Config;
  log: Log;
  redactor: Redactor;
  dryRun: boolean;
  now: () => Date;
  signal: AbortSignal;
  /** When the whole run must be over, onFailure included (the uploads end a reserve before: config/deadline.ts). */
  endsAt: number;
  /** How host names are resolved (the edge probes; the client has its own copy). */
  lookup: LookupFunction | undefined;
  /** The metrics file to write after the run (--metrics-file, else config metricsFile). */
  metricsFile: string | undefined;
  client: () => Promise<ImpervaClient>;
  /** deploy and sync: the pace shared between runs (src/state/pace.ts); the client starts from it. */
  pace: PaceLink | undefined;
}

/** The logger a run writes to: a Log that also knows the run's secrets and its file. */
export interface RunLogger extends Log {
  readonly redactor: Redactor;
  setVerbose(verbose: boolean): void;
  setQuiet(quiet: boolean): void;
  setCommand(command: string): void;
  attachFile(file: string | undefined): void;
}

/**
 * Loads the config once for the run (or takes the one deploy's planning already loaded) and wires the logger to
 * it: verbosity, the log file, the key to redact.
 */
export function openRun(
  command: string,
  options: RunOptions,
  deps: Deps,
  logger: RunLogger,
  loaded?: Config,
): RunContext {
  logger.setCommand(command);
  logger.setVerbose(options.verbose);
  logger.setQuiet(options.quiet);
  // Secrets from the environment are known before the config is read: redact them from any error about it.
  logger.redactor.addSecret(deps.env.IMPERVA_API_KEY);
  const config =
    loaded ??
    loadConfig({ config: options.config, logFile: options.logFile }, deps.env, (key) =>
      logger.redactor.addSecret(key),
    );
  if (!config.placeholders.includes('api.key')) logger.redactor.addSecret(config.api.key);
  logger.attachFile(config.logFile);
  logger.debug(`config ${config.file}: ${config.sites.size} names mapped, API ${config.api.baseUrl}`);
  // A hook run must be over before the ACME client gives up on it (lego kills its hook after 2 minutes); a shorter
  // deadlineSeconds still bounds it.
  const deadlineMs =
    command === 'deploy'
      ? Math.min(config.retry.hookDeadlineMs, config.retry.deadlineMs)
      : config.retry.deadlineMs;
  const { uploadsEndAt: deadlineAt, endsAt } = deadlinesOf(deps.now().getTime(), deadlineMs);
  const signal = deps.signal ?? new AbortController().signal;
  let client: Promise<ImpervaClient> | undefined;
  const told = new Set<string>();
  // The hooks of a storm and the timer's run after them follow one another: they share what 429s taught.
  const pace =
    command === 'deploy' || command === 'sync'
      ? deps.sharedPace?.(config.stateDir, logger, deps.now, { endsAt, signal })
      : undefined;
  return {
    command,
    config,
    log: logger,
    redactor: logger.redactor,
    dryRun: options.dryRun,
    now: deps.now,
    signal,
    endsAt,
    lookup: deps.lookup,
    metricsFile: options.metricsFile ?? config.metricsFile,
    pace,
    // Created on first need: a run with nothing to upload never loads the HTTP client.
    client: () =>
      (client ??= deps.createClient(config.api, {
        timeoutMs: config.retry.timeoutMs,
        concurrency: config.concurrency,
        attempts: config.retry.attempts,
        retryDelayMs: config.retry.retryDelayMs,
        deadlineAt,
        signal,
        v3BaseUrl: config.api.v3BaseUrl,
        ratePerMinute: config.ratePerMinute,
        sharedPace: pace,
        ...(deps.lookup === undefined ? {} : { lookup: deps.lookup }),
        onRetry: (notice) => {
          const line =
            `${notice.siteId === '' ? "the account's certificate listing" : `site ${notice.siteId}`}: ${notice.reason}; retrying in ${(notice.delayMs / 1000).toFixed(1)} s ` +
            (notice.throttled
              ? '(throttled: uses up no attempt)'
              : `(attempt ${notice.attempt} of ${notice.attempts})`);
          // One cause, one line: the first retry for a reason is said; the same reason again (another site, a later
          // attempt: an unreachable Imperva hits every site) only with -v.
          if (told.has(notice.reason)) logger.debug(line);
          else logger.info(line);
          told.add(notice.reason);
        },
      })),
  };
}
