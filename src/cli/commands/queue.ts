import { queueDrop, queueList, queueTable } from '../../commands/queue.js';
import { UsageError } from '../../errors.js';
import { defineCommand, type CommandIO } from '../command.js';
import { queueFlags, runOptions } from '../options.js';

export const queueCommand = (io: CommandIO) =>
  defineCommand({
    command: 'queue [action]',
    describe: 'List what the retry queue owes (queue, queue list), or drop entries (queue drop)',
    options: queueFlags,
    run: async (argv) => {
      const action = typeof argv.action === 'string' ? argv.action : 'list';
      if (action !== 'list' && action !== 'drop') {
        throw new UsageError(
          `queue ${action}: the queue command takes list or drop; see incap-cert queue --help`,
        );
      }
      const ctx = io.open('queue', runOptions(argv));
      if (action === 'drop') return queueDrop({ siteIds: argv['site-id'], all: argv.all }, ctx);
      if (argv['site-id'] !== undefined || argv.all) {
        throw new UsageError('--site-id and --all go with queue drop; see incap-cert queue --help');
      }
      const report = await queueList(ctx);
      for (const line of queueTable(report.entries)) io.logger.info(line);
      return report;
    },
    io,
  });
