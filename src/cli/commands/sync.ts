import { sync } from '../../commands/sync.js';
import { defineCommand, type CommandIO } from '../command.js';
import { runOptions, syncFlags } from '../options.js';

export const syncCommand = (io: CommandIO) =>
  defineCommand({
    command: 'sync',
    describe: 'Upload wherever Imperva does not serve the certificate on disk, and deliver queued failures',
    options: syncFlags,
    run: (argv) =>
      sync(
        { liveDir: argv['live-dir'], verify: argv.verify, waitSeconds: argv.wait },
        io.open('sync', runOptions(argv)),
      ),
    io,
  });
