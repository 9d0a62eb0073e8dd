import type { InferredOptionTypes, Options } from 'yargs';
import { UsageError } from '../errors.js';
import type { RunOptions } from '../run/context.js';

/** A string option that was given must have a value: `--lineage` alone at the end is a mistake, not ''. */
function nonEmpty(name: string) {
  return (value: string): string => {
    if (String(value).trim() === '') throw new UsageError(`--${name} needs a value; see incap-cert --help`);
    return value;
  };
}

function nonEmptyList(name: string) {
  const one = nonEmpty(name);
  return (values: string[]): string[] => values.map((value) => one(String(value)));
}

export function stringOption<D extends string>(name: string, describe: D) {
  return { type: 'string', requiresArg: true, coerce: nonEmpty(name), describe } as const;
}

export function stringListOption<D extends string>(name: string, describe: D) {
  return { type: 'string', array: true, requiresArg: true, coerce: nonEmptyList(name), describe } as const;
}

/** The options every command takes. */
export const globalOptions = {
  config: stringOption('config', 'Config file (env INCAP_CERT_CONFIG; default /etc/incap-cert/config.json)'),
  'dry-run': { type: 'boolean', default: false, describe: 'Do everything but the upload; print the plan' },
  verbose: { type: 'boolean', default: false, describe: 'Say more (never secrets)' },
  'log-file': stringOption('log-file', 'Also append JSON lines to this file (mode 0600)'),
} as const satisfies Record<string, Options>;

export type GlobalArgs = InferredOptionTypes<typeof globalOptions>;

/** `--live-dir DIR`, for the commands that read Certbot's live folder (check, sync, status). */
export const liveDirOption = {
  'live-dir': stringOption(
    'live-dir',
    'Folder of Certbot lineages (default: config liveDir, /etc/letsencrypt/live)',
  ),
} as const satisfies Record<string, Options>;

export function runOptions(argv: GlobalArgs): RunOptions {
  return {
    config: argv.config,
    dryRun: argv['dry-run'],
    verbose: argv.verbose,
    logFile: argv['log-file'],
  };
}
