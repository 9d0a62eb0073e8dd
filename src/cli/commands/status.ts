import { status, statusTable } from '../../commands/status.js';
import { defineCommand } from '../command.js';
import { READING_GLOBALS, runOptions, statusFlags } from '../options.js';

export const statusCommand = defineCommand({
  name: 'status',
  usage: 'incap-cert status [--live] [--json] [options]',
  summary:
    'One row per mapped site and key type: the local certificate, what Imperva holds, what is queued. Exit 0 only ' +
    'when every site is current and nothing is queued or expiring.',
  options: statusFlags,
  globals: READING_GLOBALS,
  examples: [
    ['incap-cert status', 'the table'],
    ['incap-cert status --live --json', 'with the edge, for monitoring'],
  ],
  run: async (argv, io) => {
    const report = await status(
      { liveDir: argv['live-dir'], live: argv.live },
      io.open('status', runOptions(argv)),
    );
    if (!argv.json) io.logger.print(statusTable(report.rows));
    return report;
  },
});
