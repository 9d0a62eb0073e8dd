import { loadConfig, type Config, type Env } from '../config/load.js';
import { UsageError } from '../errors.js';
import type { ClientOptions, ImpervaClient } from '../imperva/client.js';
import type { Logger } from '../log/logger.js';
import type { RunContext } from '../push/push.js';

/** What a command needs from outside: injected so that tests can run the parser in-process. */
export interface Deps {
  env: Env;
  now: () => Date;
  createClient: (api: Config['api'], options: ClientOptions) => Promise<ImpervaClient>;
}

/** The flags every command takes. */
export interface GlobalFlags {
  config: string | undefined;
  'dry-run': boolean;
  verbose: boolean;
  'log-file': string | undefined;
}

/** Loads the config once for the run and wires the logger to it (verbosity, the log file, the key to redact). */
export function openRun(command: string, flags: GlobalFlags, deps: Deps, logger: Logger): RunContext {
  logger.setVerbose(flags.verbose);
  // Secrets from the environment are known before the config is read: redact them from any error about it.
  logger.redactor.addSecret(deps.env.IMPERVA_API_KEY);
  const config = loadConfig({ config: flags.config, logFile: flags['log-file'] }, deps.env, (key) =>
    logger.redactor.addSecret(key),
  );
  logger.attachFile(config.logFile);
  logger.debug(`config ${config.file}: ${config.sites.size} names mapped, API ${config.api.baseUrl}`);
  const deadlineAt = deps.now().getTime() + config.retry.deadlineMs;
  let client: Promise<ImpervaClient> | undefined;
  return {
    command,
    config,
    log: logger,
    redactor: logger.redactor,
    dryRun: flags['dry-run'],
    now: deps.now,
    // Created on first need: a run with nothing to upload never loads the HTTP client.
    client: () =>
      (client ??= deps.createClient(config.api, {
        timeoutMs: config.retry.timeoutMs,
        concurrency: config.concurrency,
        attempts: config.retry.attempts,
        retryDelayMs: config.retry.retryDelayMs,
        deadlineAt,
        onRetry: (notice) =>
          logger.info(
            `site ${notice.siteId}: ${notice.reason}; retrying in ${(notice.delayMs / 1000).toFixed(1)} s ` +
              (notice.throttled
                ? '(throttled: uses up no attempt)'
                : `(attempt ${notice.attempt} of ${notice.attempts})`),
          ),
      })),
  };
}

/** A string option that was given must have a value: `--lineage` alone at the end is a mistake, not ''. */
export function stringOption<T extends string | string[]>(name: string) {
  return {
    requiresArg: true,
    coerce: (value: T): T => {
      for (const item of Array.isArray(value) ? value : [value as string]) {
        if (item.trim() === '') throw new UsageError(`--${name} needs a value; see incap-cert --help`);
      }
      return value;
    },
  };
}

/** `--live-dir DIR`, for the commands that read Certbot's live folder (check, sync, status). */
export const liveDirOption = {
  type: 'string',
  ...stringOption<string>('live-dir'),
  describe: 'Folder of Certbot lineages (default: config liveDir, /etc/letsencrypt/live)',
} as const;
