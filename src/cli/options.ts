/**
 * Every option of the command line, as data: the yargs modules take their argument types from these definitions,
 * and the help pages, the man page and the completion are rendered from them (src/cli/catalogue.ts).
 */
import type { InferredOptionTypes, Options } from 'yargs';
import type { KeyType } from '../model/certificate.js';
import { UsageError } from '../model/errors.js';
import type { RunOptions } from '../run/context.js';
import { shownValue } from '../util/shown.js';

/** A string option that was given must have a value: `--lineage` alone at the end is a mistake, not ''. */
function nonEmpty(name: string) {
  return (value: string): string => {
    if (String(value).trim() === '')
      throw new UsageError(`--${name} needs a value; see incap-cert ${name} --help`);
    return value;
  };
}

function nonEmptyList(name: string) {
  const one = nonEmpty(name);
  return (values: string[]): string[] => values.map((value) => one(String(value)));
}

function seconds(name: string) {
  return (value: string): number => {
    const number = Number(value);
    if (String(value).trim() === '' || !Number.isFinite(number) || number < 0 || number > 86_400) {
      throw new UsageError(`--${name} takes a number of seconds from 0 to 86400`);
    }
    return number;
  };
}

/** A site id: a positive whole number, checked here so that no command prints back what was given instead. */
function siteIds(values: string[]): string[] {
  return values.map((value) => {
    const text = String(value).trim();
    if (!/^[1-9]\d{0,19}$/.test(text))
      throw new UsageError(`--site-id takes a site id (a positive whole number), not ${shownValue(text)}`);
    return text;
  });
}

export function stringOption<D extends string>(name: string, describe: D) {
  return { type: 'string', requiresArg: true, coerce: nonEmpty(name), describe } as const;
}

export function stringListOption<D extends string>(name: string, describe: D) {
  return { type: 'string', array: true, requiresArg: true, coerce: nonEmptyList(name), describe } as const;
}

/** RSA or ECC in any case; ECDSA is what most tools call ECC. */
function keyType(value: string): KeyType {
  const word = String(value).trim().toUpperCase();
  if (word === 'RSA') return 'RSA';
  if (word === 'ECC' || word === 'ECDSA') return 'ECC';
  throw new UsageError(`--auth-type takes RSA or ECC (or ECDSA), not ${shownValue(value)}`);
}

function flag<D extends string>(describe: D) {
  return { type: 'boolean', default: false, describe } as const;
}

/** The options every command takes. */
export const globalOptions = {
  config: {
    ...stringOption('config', 'Config file (env INCAP_CERT_CONFIG; default /etc/incap-cert/config.json)'),
    alias: 'c',
  },
  'dry-run': flag('Do everything but change anything at Imperva; print what would be done'),
  verbose: { ...flag('Say more (never secrets)'), alias: 'v' },
  quiet: { ...flag('Print only warnings and errors'), alias: 'q' },
  json: flag(
    'Print one JSON document on stdout instead of lines (warnings and errors still on stderr); --json=false turns it off',
  ),
  'log-file': stringOption('log-file', 'Also append JSON lines to this file (mode 0600)'),
  'metrics-file': stringOption(
    'metrics-file',
    "Write Prometheus metrics to this file after the run (config metricsFile; for node_exporter's textfile collector)",
  ),
} as const satisfies Record<string, Options>;

export type GlobalArgs = InferredOptionTypes<typeof globalOptions>;

/** The options of every command, each of which a command may leave unread (src/cli/command.ts, `globals`). */
export type GlobalName = Exclude<keyof typeof globalOptions, 'json'>;
export const GLOBAL_NAMES: readonly GlobalName[] = [
  'config',
  'dry-run',
  'verbose',
  'quiet',
  'log-file',
  'metrics-file',
];

/** What a command that changes nothing reads: every option but --dry-run. */
export const READING_GLOBALS: readonly GlobalName[] = [
  'config',
  'verbose',
  'quiet',
  'log-file',
  'metrics-file',
];

/** `--live-dir DIR`, for the commands that read Certbot's live folder. */
export const liveDirOption = {
  'live-dir': stringOption(
    'live-dir',
    'Folder of Certbot lineages (default: config liveDir, /etc/letsencrypt/live)',
  ),
} as const satisfies Record<string, Options>;

export const pushFlags = {
  lineage: stringOption('lineage', "A live folder with fullchain.pem and privkey.pem (Certbot's layout)"),
  cert: stringOption('cert', 'The full chain PEM: leaf first, then intermediates'),
  key: stringOption('key', 'The private key PEM (unencrypted)'),
  'site-id': {
    ...stringListOption('site-id', "Upload to this site id instead of the map's choice (repeatable)"),
    coerce: siteIds,
  },
  force: flag(
    'Upload anyway: a certificate that does not cover every name mapped to the site, or a file that holds only the leaf',
  ),
} as const satisfies Record<string, Options>;

const waitOption = {
  wait: {
    type: 'string',
    requiresArg: true,
    coerce: seconds('wait'),
    describe: 'Poll until every site serves the certificate, for at most this many seconds',
  },
} as const satisfies Record<string, Options>;

export const syncFlags = {
  ...liveDirOption,
  verify: flag('After uploading, check that the edge serves what was uploaded (exit 1 while it does not)'),
  ...waitOption,
} as const satisfies Record<string, Options>;

export const statusFlags = {
  ...liveDirOption,
  live: flag('Also ask the edge what it serves, per key type (a TLS handshake per site)'),
} as const satisfies Record<string, Options>;

/** `canary`: the renewal-path check (src/canary/). */
export const canaryFlags = { ...liveDirOption } as const satisfies Record<string, Options>;

export const verifyFlags = { ...liveDirOption, ...waitOption } as const satisfies Record<string, Options>;

export const removeFlags = {
  'site-id': {
    ...stringOption('site-id', 'The site whose custom certificate to remove'),
    coerce: (value: string) => siteIds([value])[0] ?? '',
    demandOption: true,
  },
  'auth-type': {
    type: 'string',
    // sync names the key type as --key-type in the command it prints for a key-type switch.
    alias: 'key-type',
    requiresArg: true,
    coerce: keyType,
    demandOption: true,
    describe: 'Which key type to remove: RSA or ECC (ECDSA means ECC; any case)',
  },
  force: flag(
    'Remove even the key type this host deploys, while a live or sources folder cannot be read, or when nothing ' +
      "unexpired would be left to cover the site's names",
  ),
  ...liveDirOption,
} as const satisfies Record<string, Options>;

export const queueFlags = {
  'site-id': {
    ...stringListOption('site-id', 'With drop: the entries of this site (repeatable)'),
    coerce: siteIds,
  },
  all: flag('With drop: every entry'),
} as const satisfies Record<string, Options>;

export const installFlags = {
  prefix: stringOption('prefix', 'Where the executable goes: PREFIX/bin/incap-cert (default /usr/local)'),
  destdir: stringOption('destdir', 'Stage everything under this folder (env DESTDIR), as packagers do'),
  systemd: flag('Run the daily sync with a systemd timer'),
  cron: flag('Run the daily sync from /etc/cron.d'),
  binary: stringOption('binary', 'The executable to install (default: this one)'),
} as const satisfies Record<string, Options>;

export const uninstallFlags = {
  prefix: installFlags.prefix,
  destdir: installFlags.destdir,
} as const satisfies Record<string, Options>;

/** What --json was set to, and the command line as yargs is given it. */
export interface JsonSwitch {
  json: boolean;
  /** argv with every form of the switch written as `--json` or `--no-json`, the two that yargs reads alike. */
  argv: string[];
  /** A value of --json that is neither on nor off: the run is this usage error (told as JSON). */
  problem?: UsageError;
}

const JSON_ON = ['true', '1'];
const JSON_OFF = ['false', '0'];

/**
 * `--json`, `--json=true` and `--json=1` turn the document on; `--json=false`, `--json=0` and `--no-json` turn it
 * off; the last one given wins, as for any flag. yargs alone would take `--json=1` as off and let main miss
 * `--json=true`: main decides here, once, before the parser runs, so that even a usage error is a document. As
 * yargs does for a boolean, `--json true` and `--json false` take the word after them. Nothing after `--` is read.
 */
export function jsonSwitch(argv: readonly string[]): JsonSwitch {
  let json = false;
  let problem: UsageError | undefined;
  const out: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index] ?? '';
    if (arg === '--') {
      out.push(...argv.slice(index));
      break;
    }
    let value: string | undefined;
    if (arg === '--no-json') value = 'false';
    else if (arg === '--json') {
      const next = argv[index + 1];
      value = next === 'true' || next === 'false' ? next : 'true';
      if (value === next) index += 1;
    } else if (arg.startsWith('--json=')) value = arg.slice('--json='.length);
    if (value === undefined) {
      out.push(arg);
    } else if (JSON_ON.includes(value)) {
      json = true;
      out.push('--json');
    } else if (JSON_OFF.includes(value)) {
      json = false;
      out.push('--no-json');
    } else {
      // Asked for with a value we do not know: the answer is still the document that was asked for.
      problem ??= new UsageError(
        `--json takes true or 1 (on), false or 0 (off), not ${shownValue(value)}; see incap-cert --help`,
      );
    }
  }
  return problem === undefined ? { json, argv: out } : { json: true, argv: out, problem };
}

/** What help shows after an option that takes a value. */
export const PLACEHOLDERS: Readonly<Record<string, string>> = {
  config: 'FILE',
  'log-file': 'FILE',
  'metrics-file': 'FILE',
  'live-dir': 'DIR',
  lineage: 'DIR',
  cert: 'FILE',
  key: 'FILE',
  'site-id': 'ID',
  wait: 'SECONDS',
  'auth-type': 'RSA|ECC',
  prefix: 'DIR',
  destdir: 'DIR',
  binary: 'FILE',
};

export function runOptions(argv: GlobalArgs): RunOptions {
  return {
    config: argv.config,
    dryRun: argv['dry-run'],
    verbose: argv.verbose,
    quiet: argv.quiet || argv.json,
    logFile: argv['log-file'],
    metricsFile: argv['metrics-file'],
  };
}
