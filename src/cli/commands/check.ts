import { check } from '../../commands/check.js';
import { defineCommand } from '../command.js';
import { liveDirOption, runOptions } from '../options.js';

export const checkCommand = defineCommand({
  name: 'check',
  usage: 'incap-cert check [--live-dir DIR] [options]',
  summary:
    'Validate the config, prove the credentials (one account/verify call), and print the plan for every lineage. ' +
    'Uploads nothing.',
  options: liveDirOption,
  // check writes no metrics (src/metrics/record.ts measures the commands that upload or look).
  globals: ['config', 'verbose', 'quiet', 'log-file'],
  examples: [['incap-cert check', 'after editing /etc/incap-cert/config.json']],
  run: (argv, io) => check({ liveDir: argv['live-dir'] }, io.open('check', runOptions(argv))),
});
