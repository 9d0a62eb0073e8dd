import { verify } from '../../commands/verify.js';
import { defineCommand, type CommandIO } from '../command.js';
import { runOptions, verifyFlags } from '../options.js';

export const verifyCommand = (io: CommandIO) =>
  defineCommand({
    command: 'verify',
    describe: 'Ask the edge which certificate it serves each mapped site, and compare it with the local one',
    options: verifyFlags,
    run: (argv) =>
      verify({ liveDir: argv['live-dir'], waitSeconds: argv.wait }, io.open('verify', runOptions(argv))),
    io,
  });
