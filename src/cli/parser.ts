import yargs from 'yargs';
import { UsageError } from '../model/errors.js';
import { isHookEnvironment } from '../sources/env.js';
import { COMMANDS, COMMAND_NAMES, helpOf, versionAnswer } from './catalogue.js';
import { Answer, type CommandIO } from './command.js';
import { readOptions } from './help.js';
import { runDeploy } from './commands/deploy.js';
import { GLOBAL_NAMES, globalOptions, type GlobalArgs } from './options.js';
import { usageError, type Parsed } from './usage-errors.js';

/** --help and --version: options of every command, answered before the command runs or its options are checked. */
const answerOptions = {
  help: { type: 'boolean', alias: 'h', describe: 'This help' },
  version: { type: 'boolean', describe: 'The version' },
} as const;

const NO_COMMAND = `no command given (${COMMAND_NAMES.join(', ')}); see incap-cert --help`;

/**
 * The command line, from the catalogue (src/cli/catalogue.ts). Built fresh for every run (no module-level parser),
 * with the dependencies injected, so that tests can run it in-process. Each command hands its outcome to
 * `io.finish`; help, --version, completion and parser errors come out as an Answer or a UsageError.
 */
export function buildParser(io: CommandIO, argv: readonly string[]) {
  const parsed: Parsed = {
    argv,
    command: undefined,
    commands: COMMAND_NAMES,
    flags: flagsOf(undefined),
  };
  let parser = yargs()
    .scriptName('incap-cert')
    // Help and the version are ours (src/cli/help.ts), as are the parser's error messages.
    .version(false)
    .help(false)
    .options({ ...globalOptions, ...answerOptions })
    .middleware((args) => {
      const word = args._[0];
      const command = typeof word === 'string' && COMMAND_NAMES.includes(word) ? word : undefined;
      Object.assign(parsed, { command, flags: flagsOf(command) });
      // Words the command does not take are a usage error, help or not: yargs says so after this.
      const extra = args._.length > (command === undefined ? 0 : 1);
      refuseUnread(command, args);
      if (args.version === true && !extra) throw versionAnswer();
      if (args.help === true && !extra) throw new Answer(helpOf(command), 'help');
    }, true);
  for (const command of COMMANDS) parser = command.register(parser, io);
  return parser
    .command<GlobalArgs>({
      // `--deploy-hook /usr/local/bin/incap-cert` runs us with no command: in a hook's environment, deploy.
      command: '$0',
      describe: false,
      handler: async (args) => {
        if (!isHookEnvironment(io.deps.env)) throw new UsageError(NO_COMMAND);
        io.finish(await runDeploy(args, io));
      },
    })
    .strict()
    .exitProcess(false)
    .fail((message, error) => {
      // yargs' own validation errors (YError) are usage errors; anything else came from a command.
      if (error !== undefined && error !== null && error.name !== 'YError') throw error;
      throw usageError(message ?? error?.message ?? 'bad command line', parsed);
    });
}

/**
 * An option of every command that this command does not read is refused, not silently ignored: `status --dry-run`
 * must not look like a rehearsal of something. --help and --version alone read none but --json.
 */
function refuseUnread(command: string | undefined, args: Record<string, unknown>): void {
  const answering = command === undefined && (args.help === true || args.version === true);
  const reads = answering
    ? []
    : (COMMANDS.find((candidate) => candidate.name === command)?.globals ?? GLOBAL_NAMES);
  // Flags default to false and values to undefined: anything else was given (--no-verbose is as if not given).
  const given = GLOBAL_NAMES.find(
    (name) => !reads.includes(name) && args[name] !== undefined && args[name] !== false,
  );
  if (given === undefined) return;
  const what = command ?? (args.help === true ? '--help' : '--version');
  const see = command === undefined ? 'incap-cert --help' : `incap-cert ${command} --help`;
  throw new UsageError(`--${given} does nothing with ${what}; see ${see}`);
}

/** Every flag a command takes (its own and the common ones it reads; before a command, all), for did-you-mean. */
function flagsOf(command: string | undefined): string[] {
  const spec = COMMANDS.find((candidate) => candidate.name === command);
  const common = spec === undefined ? globalOptions : readOptions(spec);
  return [...Object.keys(spec?.options ?? {}), ...Object.keys(common), ...Object.keys(answerOptions)];
}
