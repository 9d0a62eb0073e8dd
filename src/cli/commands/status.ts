import { status, statusTable } from '../../commands/status.js';
import { defineCommand, type CommandIO } from '../command.js';
import { runOptions, statusFlags } from '../options.js';

export const statusCommand = (io: CommandIO) =>
  defineCommand({
    command: 'status',
    describe: 'One row per mapped site: local certificate, what Imperva serves, queued failures',
    options: statusFlags,
    run: async (argv) => {
      const report = await status(
        { liveDir: argv['live-dir'], live: argv.live },
        io.open('status', runOptions(argv)),
      );
      if (!argv.json) for (const line of statusTable(report.rows)) io.logger.info(line);
      return report;
    },
    io,
  });
