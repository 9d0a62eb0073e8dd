import type { Options } from 'yargs';
import type { Command } from './command.js';
import { aliasFlag, readOptions } from './help.js';
import { PLACEHOLDERS, globalOptions } from './options.js';

/** The flags of a set of options, with their aliases: `--config -c`. */
function flagWords(options: Readonly<Record<string, Options>>): string[] {
  return Object.entries(options).flatMap(([name, option]) => {
    const alias = aliasFlag(option);
    return [`--${name}`, ...(alias === undefined ? [] : [alias])];
  });
}

/** The flags that take a value in the next word (only those whose value is `placeholder`, if given). */
function valueFlags(options: Readonly<Record<string, Options>>, placeholder?: string): string[] {
  return Object.entries(options)
    .filter(
      ([name, option]) =>
        option.type === 'string' && (placeholder ?? PLACEHOLDERS[name]) === PLACEHOLDERS[name],
    )
    .flatMap(([name, option]) => flagWords({ [name]: option }));
}

/**
 * A bash completion script, from the catalogue: the commands, each one's words (`queue list|drop`), its own flags
 * and the common ones it reads (no flag it would refuse), and the values some flags take. The command is the first
 * word that is not a common option or its value, so `incap-cert -c FILE sta<TAB>` completes too.
 */
export function completionScript(commands: readonly Command[]): string {
  // Before the command, any common option that some command reads.
  const every = [...flagWords(globalOptions), '--help', '--version'];
  const names = commands.map((command) => command.name);
  const cases = commands.map((command) => {
    // help takes a command's name as well as its own topics.
    const topics = command.name === 'help' ? names : [];
    const words = [
      ...command.actions,
      ...topics,
      ...flagWords(command.options),
      ...flagWords(readOptions(command)),
      '--help',
      '--version',
    ];
    return `    ${command.name}) words="${words.join(' ')}" ;;`;
  });
  const all = [globalOptions, ...commands.map((command) => command.options)];
  const taking = (placeholder: string) =>
    [...new Set(all.flatMap((options) => valueFlags(options, placeholder)))].join('|');
  return [
    '# bash completion for incap-cert: incap-cert completion > /etc/bash_completion.d/incap-cert',
    '_incap_cert() {',
    '  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} command="" words i',
    '  case "$prev" in',
    `    ${taking('FILE')}) COMPREPLY=( $(compgen -f -- "$cur") ); return ;;`,
    `    ${taking('DIR')}) COMPREPLY=( $(compgen -d -- "$cur") ); return ;;`,
    `    ${taking('RSA|ECC')}) COMPREPLY=( $(compgen -W "RSA ECC" -- "$cur") ); return ;;`,
    `    ${taking('ID')}|${taking('SECONDS')}) return ;;`,
    '  esac',
    '  for (( i = 1; i < COMP_CWORD; i++ )); do',
    '    case "${COMP_WORDS[i]}" in',
    `      ${valueFlags(globalOptions).join('|')}) (( i++ )) ;;`,
    '      -*) ;;',
    '      *) command=${COMP_WORDS[i]}; break ;;',
    '    esac',
    '  done',
    '  case "$command" in',
    `    "") words="${[...commands.map((command) => command.name), ...every].join(' ')}" ;;`,
    ...cases,
    '    *) words="" ;;',
    '  esac',
    '  COMPREPLY=( $(compgen -W "$words" -- "$cur") )',
    '}',
    'complete -F _incap_cert incap-cert',
    '',
  ].join('\n');
}
