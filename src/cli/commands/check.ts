import { check } from '../../commands/check.js';
import { defineCommand, type CommandIO } from '../command.js';
import { liveDirOption, runOptions } from '../options.js';

export const checkCommand = (io: CommandIO) =>
  defineCommand({
    command: 'check',
    describe: 'Validate the config and the credentials, and print the plan; uploads nothing',
    options: liveDirOption,
    run: (argv) => check({ liveDir: argv['live-dir'] }, io.open('check', runOptions(argv))),
    io,
  });
