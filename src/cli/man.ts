/**
 * The man page, incap-cert(1), rendered from the catalogue (src/cli/catalogue.ts) in the man(7) macros that
 * `man -l` and groff render: the same commands, options, environment and exit codes as the help pages.
 */
import type { Options } from 'yargs';
import { VERSION } from '../util/version.js';
import type { Command } from './command.js';
import { ENVIRONMENT, EXIT_CODES, aliasFlag, readOptions } from './help.js';
import { PLACEHOLDERS, globalOptions } from './options.js';

/**
 * Text for roff: backslashes and hyphens escaped, other than ASCII as a named glyph, no line that roff would read as
 * a request.
 */
export function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(
      /[^\x20-\x7e\n]/gu,
      (char) => `\\[u${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}]`,
    )
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}

function optionItems(options: Readonly<Record<string, Options>>): string[] {
  return Object.entries(options).flatMap(([name, option]) => {
    const value = PLACEHOLDERS[name];
    const alias = aliasFlag(option);
    const flag = `${alias === undefined ? '' : `${roff(alias)}, `}\\-\\-${roff(name)}`;
    const required = option.demandOption === true ? ' (required)' : '';
    return [
      '.TP',
      value === undefined ? `.B ${flag}` : `.BI "${flag} " ${roff(value)}`,
      `${roff(String(option.describe ?? ''))}${required}`,
    ];
  });
}

/** The common options `command` reads, in bold, by their long names: `--config, --verbose, --json`. */
function readFlags(command: Command): string {
  const flags = Object.keys(readOptions(command)).map((name) => `"\\-\\-${roff(name)}"`);
  return `.BR ${flags.join(' ", " ')}`;
}

/** The commands that read the common option `name`, for its entry under OPTIONS. */
function readers(commands: readonly Command[], name: string): string {
  const reading = commands.filter((command) => name in readOptions(command)).map((command) => command.name);
  return reading.length === commands.length ? 'every command' : reading.join(', ');
}

export const HOMEPAGE = 'https://github.com/incap-cert/incap-cert';

/** The files on a host where incap-cert is installed with `prefix` (/usr from the Debian package). */
function files(prefix: string): [string, string][] {
  const share = `${prefix === '/' ? '' : prefix}/share`;
  return [
    [
      '/etc/incap-cert/config.json',
      'The API id and key, and the map of names to Imperva site ids (mode 0600); see incap-cert-config(5).',
    ],
    ['/var/lib/incap-cert/', 'The state folder: the queue of uploads that sync still owes (mode 0700).'],
    ['/var/log/incap-cert.log', 'The log file the template names (logFile), as JSON lines.'],
    ['/etc/logrotate.d/incap-cert', 'Rotates the log file weekly.'],
    ['/etc/letsencrypt/renewal-hooks/deploy/incap-cert', "Certbot's deploy drop-in: runs incap-cert deploy."],
    [
      '/etc/systemd/system/incap-cert-sync.timer, /etc/cron.d/incap-cert',
      'The daily sync (from the Debian package: the timer under /usr/lib/systemd/system).',
    ],
    [`${share}/incap-cert/hooks/`, 'Hooks for dehydrated and acme.sh.'],
    [`${share}/doc/incap-cert/`, 'The README and the documentation.'],
  ];
}

/**
 * incap-cert(1). `at.date` is the page's date (the release's; empty where none is known), `at.prefix` the install
 * prefix its FILES section names (default /usr, as the Debian package installs).
 */
export function manPage(
  commands: readonly Command[],
  at: { date: string; homepage?: string; prefix?: string },
): string {
  const lines = [
    `.TH INCAP\\-CERT 1 "${at.date}" "incap\\-cert ${roff(VERSION)}" "User Commands"`,
    // Names, paths and flags must not be split at a hyphenation point, nor spread out to fill the line.
    '.nh',
    '.ad l',
    '.SH NAME',
    "incap\\-cert \\- upload renewed Let's Encrypt certificates to Imperva",
    '.SH SYNOPSIS',
    '.B incap\\-cert',
    '.I command',
    '.RI [ options ]',
    '.br',
    '.B incap\\-cert help',
    '.RI [ command ]',
    '.SH DESCRIPTION',
    '.B incap\\-cert',
    roff(
      'keeps Imperva Cloud Application Security serving the certificates that an ACME client (Certbot, lego, ' +
        "acme.sh, dehydrated) renews. It uploads a certificate to every Imperva site that its map assigns to the certificate's names.",
    ),
    '.SH COMMANDS',
    ...commands.flatMap((command) => [
      '.TP',
      command.actions.length === 0
        ? `.B ${roff(command.name)}`
        : `.BR ${roff(command.name)} " [${roff(command.actions.join('|'))}]"`,
      roff(command.summary),
      ...(Object.keys(command.options).length === 0 ? [] : ['.RS', ...optionItems(command.options), '.RE']),
      '.RS',
      '.PP',
      'Common options it reads:',
      readFlags(command),
      '.RE',
    ]),
    '.SH OPTIONS',
    'Common options: each command above names those it reads, and refuses the others.',
    ...Object.entries(globalOptions).flatMap(([name, option]) => [
      ...optionItems({ [name]: option }),
      '.br',
      roff(`Read by ${readers(commands, name)}.`),
    ]),
    '.TP',
    '.B \\-h, \\-\\-help',
    'The help, or a command\\(aqs help.',
    '.TP',
    '.B \\-\\-version',
    'The version.',
    '.SH ENVIRONMENT',
    ...ENVIRONMENT.flatMap(([name, what]) => ['.TP', `.B ${roff(name)}`, roff(what)]),
    '.SH FILES',
    ...files(at.prefix ?? '/usr').flatMap(([path, what]) => ['.TP', `.I ${roff(path)}`, roff(what)]),
    '.SH EXIT STATUS',
    ...EXIT_CODES.flatMap(([code, what]) => ['.TP', `.B ${roff(code)}`, roff(what)]),
    '.SH EXAMPLES',
    ...commands.flatMap((command) =>
      command.examples.flatMap(([line, what]) => [
        '.PP',
        ...(what === '' ? [] : [roff(`${what}:`)]),
        '.RS',
        '.nf',
        roff(line),
        '.fi',
        '.RE',
      ]),
    ),
    '.SH SEE ALSO',
    '.BR incap\\-cert\\-config (5),',
    '.BR certbot (1),',
    '.BR logrotate (8)',
    '.PP',
    roff("incap-cert help COMMAND prints a command's page; incap-cert help config the config file's fields."),
    '.PP',
    roff(at.homepage ?? HOMEPAGE),
    '',
  ];
  return lines.join('\n');
}
