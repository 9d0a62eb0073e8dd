/**
 * The help, rendered from the option definitions (src/cli/options.ts) without loading yargs, so that
 * `incap-cert --help` costs little more than node's own start-up. Each command's page reads like a man page: its own
 * options first, with value placeholders, then the options of every command, examples, the environment and the
 * exit codes.
 */
import type { Options } from 'yargs';
import { VERSION } from '../version.js';
import {
  PLACEHOLDERS,
  globalOptions,
  installFlags,
  pushFlags,
  queueFlags,
  removeFlags,
  statusFlags,
  syncFlags,
  uninstallFlags,
  verifyFlags,
  liveDirOption,
} from './options.js';

export interface CommandHelp {
  name: string;
  usage: string;
  summary: string;
  options: Record<string, Options>;
  examples: [string, string][];
  notes?: string[];
}

export const COMMANDS: readonly CommandHelp[] = [
  {
    name: 'deploy',
    usage: 'incap-cert deploy [options]',
    summary:
      "Run as the ACME client's deploy hook: upload the certificate it names (RENEWED_LINEAGE, LEGO_*, CERT_*) to " +
      'every site the map assigns to its names. With no command at all in a hook environment, incap-cert does this.',
    options: {},
    examples: [
      ['certbot renew --deploy-hook "/usr/local/bin/incap-cert deploy"', 'register with Certbot'],
      [
        'RENEWED_LINEAGE=/etc/letsencrypt/live/example.com incap-cert deploy --dry-run',
        'what a renewal would do',
      ],
    ],
  },
  {
    name: 'push',
    usage: 'incap-cert push (--lineage DIR | --cert FILE --key FILE) [--site-id ID]... [options]',
    summary: 'Upload a certificate by hand: a lineage folder, or a full chain and its key.',
    options: pushFlags,
    examples: [
      ['incap-cert push --lineage /etc/letsencrypt/live/example.com', 'to the sites the map assigns'],
      [
        'incap-cert push --cert fullchain.pem --key privkey.pem --site-id 1234567',
        'to one site, whatever the map says',
      ],
    ],
  },
  {
    name: 'sync',
    usage: 'incap-cert sync [--live-dir DIR] [--verify [--wait SECONDS]] [options]',
    summary:
      'Upload wherever Imperva does not serve the certificate on disk (live folders, config sources), and deliver ' +
      'what the retry queue still owes. Run daily by the timer; a second sync uploads nothing.',
    options: syncFlags,
    examples: [
      ['incap-cert sync', 'reconcile every mapped site'],
      ['incap-cert sync --verify --wait 300', 'and wait until the edge serves what was uploaded'],
    ],
  },
  {
    name: 'status',
    usage: 'incap-cert status [--live] [--json] [options]',
    summary:
      'One row per mapped site and key type: the local certificate, what Imperva holds, what is queued. Exit 0 only ' +
      'when every site is current and nothing is queued or expiring.',
    options: statusFlags,
    examples: [
      ['incap-cert status', 'the table'],
      ['incap-cert status --live --json', 'with the edge, for monitoring'],
    ],
  },
  {
    name: 'check',
    usage: 'incap-cert check [--live-dir DIR] [options]',
    summary:
      'Validate the config, prove the credentials (one account/verify call), and print the plan for every lineage. ' +
      'Uploads nothing.',
    options: liveDirOption,
    examples: [['incap-cert check', 'after editing /etc/incap-cert/config.json']],
  },
  {
    name: 'verify',
    usage: 'incap-cert verify [--live-dir DIR] [--wait SECONDS] [--json] [options]',
    summary:
      "Ask the edge which certificate it serves each mapped site (a TLS handshake with the site's name, offering " +
      'only the key type of the local certificate) and compare the leaf with the local one: served, stale, wrong or ' +
      'unreachable. Exit 0 only when every site is served.',
    options: verifyFlags,
    examples: [
      ['incap-cert verify', 'one line per site and key type'],
      [
        'INCAP_CERT_EDGE=203.0.113.7:443 incap-cert verify',
        'against one edge address, e.g. before a DNS cut-over',
      ],
    ],
  },
  {
    name: 'remove',
    usage: 'incap-cert remove --site-id ID --auth-type RSA|ECC [--force] [--dry-run] [options]',
    summary:
      "Remove a site's custom certificate of one key type. Refuses (exit 2, nothing sent) the key type this host " +
      "deploys and the site's only custom certificate, unless --force.",
    options: removeFlags,
    examples: [['incap-cert remove --site-id 1234567 --auth-type RSA', 'drop a left-over RSA certificate']],
  },
  {
    name: 'queue',
    usage: 'incap-cert queue [list] [--json] | incap-cert queue drop (--site-id ID... | --all) [options]',
    summary: 'List what the retry queue still owes, or drop entries from it.',
    options: queueFlags,
    examples: [
      ['incap-cert queue', 'site, names, source, since, attempts, last error'],
      ['incap-cert queue drop --site-id 1234567', 'forget what is owed to one site'],
    ],
  },
  {
    name: 'install',
    usage: 'incap-cert install [--prefix DIR] [--destdir DIR] [--systemd | --cron] [options]',
    summary:
      "Install this executable, Certbot's drop-in, the dehydrated and acme.sh hooks, the daily sync and a config " +
      'template (never overwritten). Run as root.',
    options: installFlags,
    examples: [['sudo ./incap-cert-linux-x64 install --systemd', 'the usual install']],
  },
  {
    name: 'uninstall',
    usage: 'incap-cert uninstall [--prefix DIR] [--destdir DIR] [options]',
    summary:
      'Remove what install wrote; keeps the config and the state folder (it may hold uploads still owed).',
    options: uninstallFlags,
    examples: [['sudo incap-cert uninstall', '']],
  },
  {
    name: 'completion',
    usage: 'incap-cert completion',
    summary: 'Print a bash completion script: incap-cert completion > /etc/bash_completion.d/incap-cert',
    options: {},
    examples: [],
  },
  {
    name: 'help',
    usage: 'incap-cert help [COMMAND]',
    summary: 'This help, or one command’s.',
    options: {},
    examples: [],
  },
];

const ENVIRONMENT: [string, string][] = [
  ['INCAP_CERT_CONFIG', 'the config file (as --config)'],
  [
    'IMPERVA_API_ID, IMPERVA_API_KEY',
    'the API credentials, instead of api.id and api.key in the config file',
  ],
  ['IMPERVA_API_URL, IMPERVA_V3_URL', 'the v1 and v3 API base URLs (https, or http to loopback for tests)'],
  ['INCAP_CERT_EDGE', 'HOST:PORT of the edge to verify against (config edgeAddress)'],
  ['HTTPS_PROXY, HTTP_PROXY, NO_PROXY', 'a proxy for Imperva’s API, as most tools read them'],
  ['RENEWED_LINEAGE', 'set by Certbot for its deploy hook; LEGO_* by lego, CERT_* by acme.sh'],
];

const EXIT_CODES: [string, string][] = [
  ['0', 'every mapped site has the certificate, or nothing is mapped'],
  ['1', 'a site failed (queued for sync), or status/verify found a site behind'],
  ['2', 'usage or configuration error, or a file or folder root should not trust; nothing uploaded'],
  ['3', 'a certificate or key problem; nothing uploaded'],
  ['128+N', 'stopped by signal N (143: SIGTERM); what was not delivered is recorded for sync'],
];

const WIDTH = 100;

function optionLines(options: Record<string, Options>): [string, string][] {
  return Object.entries(options).map(([name, option]) => {
    const alias = typeof option.alias === 'string' ? `-${option.alias}, ` : '    ';
    const value = PLACEHOLDERS[name];
    const choices =
      option.choices === undefined ? '' : ` (${(option.choices as readonly string[]).join(' or ')})`;
    const required = option.demandOption === true ? ' (required)' : '';
    return [
      `${alias}--${name}${value === undefined ? '' : ` ${value}`}`,
      `${option.describe ?? ''}${choices}${required}`,
    ];
  });
}

function table(rows: readonly [string, string][], indent = 2): string[] {
  const width = Math.min(34, Math.max(...rows.map(([left]) => left.length)) + 2);
  return rows.flatMap(([left, right]) => {
    const words = right.split(' ');
    const lines: string[] = [];
    let line = '';
    for (const word of words) {
      if (line !== '' && indent + width + line.length + 1 + word.length > WIDTH) {
        lines.push(line);
        line = word;
      } else line = line === '' ? word : `${line} ${word}`;
    }
    lines.push(line);
    const pad = ' '.repeat(indent);
    const first =
      left.length + 2 > width
        ? [`${pad}${left}`, `${pad}${' '.repeat(width)}${lines[0] ?? ''}`]
        : [`${pad}${left.padEnd(width)}${lines[0] ?? ''}`];
    return [...first, ...lines.slice(1).map((rest) => `${pad}${' '.repeat(width)}${rest}`)];
  });
}

function paragraph(text: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, line];
}

function footer(): string[] {
  return ['', 'Environment:', ...table(ENVIRONMENT), '', 'Exit codes:', ...table(EXIT_CODES)];
}

/** The help page of one command, or the overview. */
export function renderHelp(command?: string): string {
  const spec = COMMANDS.find((candidate) => candidate.name === command);
  if (spec === undefined) {
    return [
      `incap-cert ${VERSION}: keeps Imperva serving the certificates your ACME client renews.`,
      '',
      'Usage: incap-cert COMMAND [options]      incap-cert help COMMAND',
      '',
      'Commands:',
      ...table(COMMANDS.map((one) => [one.name, firstSentence(one.summary)])),
      '',
      'Options of every command:',
      ...table([
        ...optionLines(globalOptions),
        ['-h, --help', 'This help; incap-cert COMMAND --help for a command’s'],
        ['    --version', 'The version'],
      ]),
      ...footer(),
      '',
    ].join('\n');
  }
  const own = optionLines(spec.options);
  return [
    `Usage: ${spec.usage}`,
    '',
    ...paragraph(spec.summary),
    ...(own.length === 0 ? [] : ['', `Options of ${spec.name}:`, ...table(own)]),
    '',
    'Options of every command:',
    ...table(optionLines(globalOptions)),
    ...(spec.examples.length === 0
      ? []
      : [
          '',
          'Examples:',
          ...spec.examples.flatMap(([line, what]) => [`  ${line}`, ...(what ? [`      ${what}`] : [])]),
        ]),
    ...footer(),
    '',
  ].join('\n');
}

function firstSentence(text: string): string {
  const end = text.indexOf('. ');
  return end < 0 ? text.replace(/\.$/, '') : text.slice(0, end);
}

/** The known word closest to `word`, when it is close enough to be what was meant. */
export function didYouMean(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** Every flag a command takes (with its global ones), for did-you-mean and completion. */
export function flagsOf(command: string | undefined): string[] {
  const spec = COMMANDS.find((candidate) => candidate.name === command);
  return [...Object.keys(spec?.options ?? {}), ...Object.keys(globalOptions), 'help', 'version'];
}

/** A bash completion script, from the same catalogue. */
export function completionScript(): string {
  const cases = COMMANDS.map(
    (spec) =>
      `    ${spec.name}) flags="${flagsOf(spec.name)
        .map((name) => `--${name}`)
        .join(' ')}" ;;`,
  );
  return [
    '# bash completion for incap-cert: incap-cert completion > /etc/bash_completion.d/incap-cert',
    '_incap_cert() {',
    '  local cur=${COMP_WORDS[COMP_CWORD]} command=${COMP_WORDS[1]} flags',
    '  if [ "$COMP_CWORD" -eq 1 ]; then',
    `    COMPREPLY=( $(compgen -W "${COMMANDS.map((spec) => spec.name).join(' ')} --help --version" -- "$cur") )`,
    '    return',
    '  fi',
    '  case "$command" in',
    ...cases,
    '    *) flags="" ;;',
    '  esac',
    '  case "${COMP_WORDS[COMP_CWORD-1]}" in',
    '    --config|-c|--log-file|--metrics-file|--cert|--key|--binary) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;',
    '    --live-dir|--lineage|--prefix|--destdir) COMPREPLY=( $(compgen -d -- "$cur") ); return ;;',
    '    --auth-type) COMPREPLY=( $(compgen -W "RSA ECC" -- "$cur") ); return ;;',
    '  esac',
    '  COMPREPLY=( $(compgen -W "$flags" -- "$cur") )',
    '}',
    'complete -F _incap_cert incap-cert',
    '',
  ].join('\n');
}

/**
 * What can be answered without the command line: --version, --help in any position, `help [COMMAND]`,
 * `completion`. undefined for anything else.
 */
export function quickAnswer(
  argv: readonly string[],
): { out?: string; err?: string; code: number } | undefined {
  // The options every command takes may come first (`-q help status`, `-c FILE status --help`): the words that
  // decide the answer are the others.
  const words = withoutGlobalOptions(argv);
  // --version is a flag of every command (`incap-cert status --version`), as --help is.
  if (words.includes('--version')) return { out: `${VERSION}\n`, code: 0 };
  if (words.length === 1 && words[0] === 'completion') return { out: completionScript(), code: 0 };
  const first = words[0];
  if (first === 'help') {
    const topic = words[1];
    if (words.length > 2) return undefined;
    if (topic === undefined) return { out: renderHelp(), code: 0 };
    if (COMMANDS.some((spec) => spec.name === topic)) return { out: renderHelp(topic), code: 0 };
    const guess = didYouMean(
      topic,
      COMMANDS.map((spec) => spec.name),
    );
    const message = `unknown command ${topic}${guess === undefined ? '' : ` (did you mean ${guess}?)`}; see incap-cert --help`;
    return {
      err: `error: ${message}\n`,
      // --json: never an empty stdout, errors included.
      ...(argv.includes('--json')
        ? {
            out: `${JSON.stringify({ ok: false, command: 'help', exitCode: 2, sites: [], error: { code: 'USAGE', message } })}\n`,
          }
        : {}),
      code: 2,
    };
  }
  if (words.includes('--help') || words.includes('-h')) {
    const command = first !== undefined && !first.startsWith('-') ? first : undefined;
    if (command !== undefined && !COMMANDS.some((spec) => spec.name === command)) return undefined;
    return { out: renderHelp(command), code: 0 };
  }
  return undefined;
}

/** The options of every command that take a value (in the next word, unless written `--name=value`). */
const GLOBAL_WITH_VALUE = new Set(['-c', '--config', '--log-file', '--metrics-file']);
const GLOBAL_FLAGS = new Set(['--dry-run', '-v', '--verbose', '-q', '--quiet', '--json']);

/** argv without the options every command takes, and their values. */
export function withoutGlobalOptions(argv: readonly string[]): string[] {
  const words: string[] = [];
  for (let index = 0; index < argv.length; index += 1) {
    const word = argv[index] ?? '';
    if (GLOBAL_FLAGS.has(word)) continue;
    if (GLOBAL_WITH_VALUE.has(word)) {
      index += 1;
      continue;
    }
    if ([...GLOBAL_WITH_VALUE].some((name) => name.startsWith('--') && word.startsWith(`${name}=`))) continue;
    words.push(word);
  }
  return words;
}
