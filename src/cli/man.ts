/**
 * The man page, incap-cert(1), rendered from the catalogue (src/cli/catalogue.ts) in the man(7) macros that
 * `man -l` and groff render: the same commands, options, environment and exit codes as the help pages.
 */
import type { Options } from 'yargs';
import { VERSION } from '../util/version.js';
import type { Command } from './command.js';
import { ENVIRONMENT, EXIT_CODES } from './help.js';
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
    const alias = typeof option.alias === 'string' ? `\\-${option.alias}, ` : '';
    const flag = `${alias}\\-\\-${roff(name)}`;
    const required = option.demandOption === true ? ' (required)' : '';
    return [
      '.TP',
      value === undefined ? `.B ${flag}` : `.BI "${flag} " ${roff(value)}`,
      `${roff(String(option.describe ?? ''))}${required}`,
    ];
  });
}

const FILES: [string, string][] = [
  [
    '/etc/incap-cert/config.json',
    'The API id and key, and the map of names to Imperva site ids (mode 0600).',
  ],
  ['/var/lib/incap-cert/', 'The retry queue of uploads that failed.'],
  ['/usr/share/incap-cert/hooks/', 'Hooks for dehydrated and acme.sh.'],
];

export function manPage(commands: readonly Command[], at: { date: string; homepage: string }): string {
  const lines = [
    `.TH INCAP\\-CERT 1 ${at.date} "incap\\-cert ${VERSION}" "User Commands"`,
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
    ]),
    '.SH OPTIONS',
    'Every command takes these:',
    ...optionItems(globalOptions),
    '.TP',
    '.B \\-h, \\-\\-help',
    'The help, or a command\\(aqs help.',
    '.TP',
    '.B \\-\\-version',
    'The version.',
    '.SH ENVIRONMENT',
    ...ENVIRONMENT.flatMap(([name, what]) => ['.TP', `.B ${roff(name)}`, roff(what)]),
    '.SH FILES',
    ...FILES.flatMap(([path, what]) => ['.TP', `.I ${roff(path)}`, roff(what)]),
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
    '.BR certbot (1)',
    '.PP',
    roff(at.homepage),
    '',
  ];
  return lines.join('\n');
}
