/** The parser's errors, in the house style: one line, what was wrong, what was probably meant, where to look. */
import { UsageError } from '../model/errors.js';
import { shownValue } from '../util/shown.js';
import { didYouMean } from './suggest.js';

const SEE = 'see incap-cert --help';

const guessed = (guess: string | undefined, prefix = '') =>
  guess === undefined ? '' : ` (did you mean ${prefix}${guess}?)`;

export function unknownCommand(word: string, commands: readonly string[]): UsageError {
  return new UsageError(`unknown command ${shownValue(word)}${guessed(didYouMean(word, commands))}; ${SEE}`);
}

/** What the command line held, for telling yargs' complaints apart. */
export interface Parsed {
  argv: readonly string[];
  /** The command that was being run, undefined before one was recognised. */
  command: string | undefined;
  commands: readonly string[];
  /** Every flag (without its dashes) the command, or every command, takes. */
  flags: readonly string[];
}

/** yargs' message (its English, never shown) made one line of ours. */
export function usageError(message: string, parsed: Parsed): UsageError {
  const unknown = /^Unknown arguments?: (.+)$/.exec(message);
  if (unknown?.[1] !== undefined) return unknownWords(unknown[1].split(', '), parsed);
  const missing = /^Not enough arguments following: (.+)$/.exec(message);
  if (missing?.[1] !== undefined) return new UsageError(`--${missing[1]} needs a value; ${SEE}`);
  const required = /^Missing required arguments?: (.+)$/.exec(message);
  if (required?.[1] !== undefined) {
    const flags = required[1].split(', ').map((name) => `--${name}`);
    const command = parsed.command ?? 'incap-cert';
    return new UsageError(`${command} needs ${flags.join(' and ')}; see incap-cert ${command} --help`);
  }
  // Our own coerce functions' messages (src/cli/options.ts), which yargs passes on.
  const line = message.replace(/\s*\n\s*/g, ' ');
  return new UsageError(line.includes('see incap-cert') ? line : `${line}; ${SEE}`);
}

function unknownWords(listed: readonly string[], parsed: Parsed): UsageError {
  const { argv, command, commands, flags } = parsed;
  const kebab = (word: string) => word.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
  // yargs names an unknown --live-dr twice: as it is and camel-cased.
  const words = listed.filter((word) => kebab(word) === word || !listed.includes(kebab(word)));
  const given = (word: string) => {
    const flag = word.length === 1 ? `-${word}` : `--${word}`;
    return argv.some((arg) => arg === flag || arg.startsWith(`${flag}=`));
  };
  // A word where the command goes: a mistyped command, whose options are not the point.
  const mistyped = command === undefined ? words.find((word) => !given(word)) : undefined;
  if (mistyped !== undefined) return unknownCommand(mistyped, commands);
  const told = words.map((word) =>
    given(word)
      ? `option ${word.length === 1 ? '-' : '--'}${word}${guessed(didYouMean(word, flags), '--')}`
      : `argument ${shownValue(word)}`,
  );
  return new UsageError(`unknown ${told.join(', ')}; ${SEE}`);
}
