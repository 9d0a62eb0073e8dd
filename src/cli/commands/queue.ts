import { queueDrop, queueList, queueTable } from '../../commands/queue.js';
import { UsageError } from '../../model/errors.js';
import { shownValue } from '../../util/shown.js';
import { defineCommand } from '../command.js';
import { queueFlags, runOptions } from '../options.js';

export const queueCommand = defineCommand({
  name: 'queue',
  actions: ['list', 'drop'],
  positional: '[action]',
  usage: 'incap-cert queue [list] [--json] | incap-cert queue drop (--site-id ID... | --all) [options]',
  summary: 'List what the retry queue still owes, or drop entries from it.',
  options: queueFlags,
  globals: ['config', 'dry-run', 'verbose', 'quiet', 'log-file'],
  examples: [
    ['incap-cert queue', 'site, names, source, since, attempts, last error'],
    ['incap-cert queue drop --site-id 1234567', 'forget what is owed to one site'],
  ],
  run: async (argv, io) => {
    const action = typeof argv.action === 'string' ? argv.action : 'list';
    if (action !== 'list' && action !== 'drop') {
      throw new UsageError(
        `queue ${shownValue(action)}: the queue command takes list or drop; see incap-cert queue --help`,
      );
    }
    if (action === 'list' && (argv['site-id'] !== undefined || argv.all || argv['dry-run'])) {
      const given = argv['site-id'] !== undefined ? '--site-id' : argv.all ? '--all' : '--dry-run';
      throw new UsageError(
        `${given} does nothing with queue list (it goes with queue drop); see incap-cert queue --help`,
      );
    }
    const ctx = io.open('queue', runOptions(argv));
    if (action === 'drop') return queueDrop({ siteIds: argv['site-id'], all: argv.all }, ctx);
    const report = await queueList(ctx);
    io.logger.print(queueTable(report.entries));
    return report;
  },
});
