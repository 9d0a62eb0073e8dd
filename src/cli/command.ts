import type { ArgumentsCamelCase, CommandModule, InferredOptionTypes, Options } from 'yargs';
import type { HookPlan } from '../engine/plan.js';
import type { Logger } from '../log/logger.js';
import type { Report } from '../report.js';
import type { Config } from '../config/load.js';
import type { Deps, RunContext, RunOptions } from '../run/context.js';
import type { GlobalArgs } from './options.js';

/** What a command module gets: the run's dependencies, its logger, and where its report goes. */
export interface CommandIO {
  deps: Deps;
  logger: Logger;
  /** A hook run that the fast path (src/quick.ts) already planned: config and certificate are not read twice. */
  preplanned?: HookPlan | undefined;
  finish: (report: Report) => void;
  /** Opens the command's run (config, logger, client) and remembers it, for what main does after the command. */
  open: (command: string, options: RunOptions, loaded?: Config) => RunContext;
}

export type ArgsOf<O extends Record<string, Options>> = GlobalArgs & InferredOptionTypes<O>;

/**
 * A yargs command module whose argument types are inferred from its option definitions: no hand-written flag
 * interfaces to drift from the options, no casts.
 */
export function defineCommand<O extends Record<string, Options>>(spec: {
  command: string;
  describe: string | false;
  options: O;
  run: (argv: ArgumentsCamelCase<ArgsOf<O>>) => Promise<Report>;
  io: CommandIO;
}): CommandModule<GlobalArgs, ArgsOf<O>> {
  return {
    command: spec.command,
    describe: spec.describe,
    builder: spec.options,
    handler: async (argv) => spec.io.finish(await spec.run(argv)),
  };
}
