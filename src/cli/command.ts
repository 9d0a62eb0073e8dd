import type { ArgumentsCamelCase, Argv, InferredOptionTypes, Options } from 'yargs';
import type { Config } from '../config/load.js';
import type { Logger } from '../log/logger.js';
import type { Report } from '../model/report.js';
import type { Deps, RunContext, RunOptions } from '../run/context.js';
import { GLOBAL_NAMES, type GlobalArgs, type GlobalName } from './options.js';

/** What a command gets: the run's dependencies, its logger, and where its outcome goes. */
export interface CommandIO {
  deps: Deps;
  logger: Logger;
  finish: (outcome: Report | Answer) => void;
  /** Opens the command's run (config, logger, client) and remembers it, for what main does after the command. */
  open: (command: string, options: RunOptions, loaded?: Config) => RunContext;
}

/**
 * A text that answers the command line (help, --version, completion): printed as it is, exit 0, no report. An Error
 * only so that --help and --version can be thrown out of the parser (src/cli/parser.ts) before it checks the
 * command's options; main tells it from a failure.
 */
export class Answer extends Error {
  /**
   * `command` names the answer in its --json document (`{"ok":true,"command":"help","text":…}`); `fields` replace
   * `text` there when the answer has a shape of its own (the version).
   */
  constructor(
    readonly text: string,
    readonly command: string,
    readonly fields?: Readonly<Record<string, unknown>>,
  ) {
    super('answer');
    this.name = 'Answer';
  }
}

export type ArgsOf<O extends Record<string, Options>> = GlobalArgs & InferredOptionTypes<O>;

/** One command, described once: the parser, the help pages, the man page and the completion all read it. */
export interface CommandSpec<O extends Record<string, Options>> {
  name: string;
  /** The words that may follow the name (`queue [list|drop]`), for completion and the man page. */
  actions?: readonly string[];
  /** The yargs positional after the name, if any: `[action]` (queue), `[topic]` (help). */
  positional?: string;
  usage: string;
  summary: string;
  options: O;
  /**
   * The options of every command that this one reads besides --json (which every command takes); given any other,
   * the command line is refused (src/cli/parser.ts), so that an option never silently does nothing. Default: all.
   */
  globals?: readonly GlobalName[];
  examples: readonly (readonly [string, string])[];
  run: (argv: ArgumentsCamelCase<ArgsOf<O>>, io: CommandIO) => Promise<Report | Answer>;
}

/** A command of the catalogue, its argument types closed over: `register` adds it to a yargs parser. */
export interface Command {
  name: string;
  actions: readonly string[];
  usage: string;
  summary: string;
  options: Readonly<Record<string, Options>>;
  globals: readonly GlobalName[];
  examples: readonly (readonly [string, string])[];
  register: <T>(parser: Argv<T>, io: CommandIO) => Argv<T>;
}

/**
 * A command whose argument types are inferred from its option definitions: no hand-written flag interfaces to drift
 * from the options, no casts.
 */
export function defineCommand<O extends Record<string, Options>>(spec: CommandSpec<O>): Command {
  const actions = spec.actions ?? [];
  return {
    name: spec.name,
    actions,
    usage: spec.usage,
    summary: spec.summary,
    options: spec.options,
    globals: spec.globals ?? GLOBAL_NAMES,
    examples: spec.examples,
    register: (parser, io) =>
      parser.command<ArgsOf<O>>({
        command: spec.positional === undefined ? spec.name : `${spec.name} ${spec.positional}`,
        describe: spec.summary,
        builder: spec.options,
        handler: async (argv) => io.finish(await spec.run(argv, io)),
      }),
  };
}
