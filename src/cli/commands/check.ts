import { check } from '../../commands/check.js';
import { defineCommand } from '../command.js';
import { liveDirOption, runOptions } from '../options.js';

export const checkCommand = defineCommand({
  name: 'check',
  usage: 'incap-cert check [--live-dir DIR] [options]',
  summary:
    'Answer "am I done?": the config, the credentials, every mapped site per key type, the lineages, and whether ' +
    "Certbot's hook, the timer and the notifier are in place; one verdict a line, each problem with its fix. " +
    'Exit 1 for any problem. Uploads nothing.',
  options: liveDirOption,
  // check writes no metrics (src/metrics/record.ts measures the commands that upload or look).
  globals: ['config', 'verbose', 'quiet', 'log-file'],
  examples: [['incap-cert check', 'after editing /etc/incap-cert/config.json']],
  run: (argv, io) => check({ liveDir: argv['live-dir'] }, io.open('check', runOptions(argv))),
});
