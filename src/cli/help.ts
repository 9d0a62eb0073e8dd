/**
 * The help pages, rendered from the catalogue (src/cli/catalogue.ts). Each command's page reads like a man page: its
 * own options first, with value placeholders, then the common options it reads, examples, the environment and the
 * exit codes.
 */
import type { Options } from 'yargs';
import { VERSION } from '../util/version.js';
import type { Command } from './command.js';
import { PLACEHOLDERS, globalOptions } from './options.js';

/**
 * The common options `command` reads: --json, which every command takes, and those its `globals` name. The parser
 * refuses the others (src/cli/parser.ts), so the help pages, the man page and the completion offer only these.
 */
export function readOptions(command: Command): Record<string, Options> {
  return Object.fromEntries(
    Object.entries(globalOptions).filter(
      ([name]) => name === 'json' || command.globals.some((global) => global === name),
    ),
  );
}

/** How an option's alias is typed: `-c` for a letter, `--key-type` for a word. */
export function aliasFlag(option: Options): string | undefined {
  if (typeof option.alias !== 'string') return undefined;
  return option.alias.length === 1 ? `-${option.alias}` : `--${option.alias}`;
}

export const ENVIRONMENT: [string, string][] = [
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

export const EXIT_CODES: [string, string][] = [
  ['0', 'every mapped site has the certificate, or nothing is mapped'],
  ['1', 'a site failed (queued for sync), or status/verify found a site behind'],
  ['2', 'usage or configuration error, or a file or folder root should not trust; nothing uploaded'],
  ['3', 'a certificate or key problem; nothing uploaded'],
  ['128+N', 'stopped by signal N (143: SIGTERM); what was not delivered is recorded for sync'],
];

const WIDTH = 100;

export function optionLines(options: Readonly<Record<string, Options>>): [string, string][] {
  return Object.entries(options).map(([name, option]) => {
    const alias = aliasFlag(option);
    const value = PLACEHOLDERS[name];
    const choices =
      option.choices === undefined ? '' : ` (${(option.choices as readonly string[]).join(' or ')})`;
    const required = option.demandOption === true ? ' (required)' : '';
    return [
      `${alias === undefined ? '    ' : `${alias}, `}--${name}${value === undefined ? '' : ` ${value}`}`,
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

/** `text` in lines of at most 100 characters, less `indent` (the caller's). */
export function paragraph(text: string, indent = 0): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent + line.length + 1 + word.length > WIDTH) {
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
export function renderHelp(commands: readonly Command[], command?: string): string {
  const spec = commands.find((candidate) => candidate.name === command);
  if (spec === undefined) {
    return [
      `incap-cert ${VERSION}: keeps Imperva serving the certificates your ACME client renews.`,
      '',
      'Usage: incap-cert COMMAND [options]      incap-cert help COMMAND      incap-cert help config',
      '',
      'Commands:',
      ...table(commands.map((one) => [one.name, firstSentence(one.summary)])),
      '',
      'Common options (each command’s page lists those it reads):',
      ...table(everyCommandOptions()),
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
    'Common options it reads:',
    ...table(optionLines(readOptions(spec))),
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

export function firstSentence(text: string): string {
  const end = text.indexOf('. ');
  return end < 0 ? text.replace(/\.$/, '') : text.slice(0, end);
}

/** The common options, with --help and --version, for the overview. */
export function everyCommandOptions(): [string, string][] {
  return [
    ...optionLines(globalOptions),
    ['-h, --help', 'This help; incap-cert COMMAND --help for a command’s'],
    ['    --version', 'The version'],
  ];
}
