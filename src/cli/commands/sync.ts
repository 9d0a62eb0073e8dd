import { sync } from '../../commands/sync.js';
import { UsageError } from '../../model/errors.js';
import { defineCommand } from '../command.js';
import { runOptions, syncFlags } from '../options.js';

export const syncCommand = defineCommand({
  name: 'sync',
  usage: 'incap-cert sync [--live-dir DIR] [--verify [--wait SECONDS]] [options]',
  summary:
    'Upload wherever Imperva does not serve the certificate on disk (live folders, config sources), and deliver ' +
    'what the retry queue still owes. Run daily by the timer; a second sync uploads nothing.',
  options: syncFlags,
  examples: [
    ['incap-cert sync', 'reconcile every mapped site'],
    ['incap-cert sync --verify --wait 300', 'and wait until the edge serves what was uploaded'],
  ],
  run: (argv, io) => {
    if (argv.wait !== undefined && !argv.verify)
      throw new UsageError('--wait does nothing with sync without --verify; see incap-cert sync --help');
    return sync(
      { liveDir: argv['live-dir'], verify: argv.verify, waitSeconds: argv.wait },
      io.open('sync', runOptions(argv)),
    );
  },
});
