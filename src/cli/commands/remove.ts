import { remove } from '../../commands/remove.js';
import { defineCommand } from '../command.js';
import { removeFlags, runOptions } from '../options.js';

export const removeCommand = defineCommand({
  name: 'remove',
  usage: 'incap-cert remove --site-id ID --auth-type RSA|ECC [--force] [--dry-run] [options]',
  summary:
    "Remove a site's custom certificate of one key type. Unless --force, refuses (exit 2, nothing sent) the key " +
    'type this host deploys, a removal while the live or a sources folder cannot be read, and one after which no ' +
    "unexpired certificate would cover the site's names.",
  options: removeFlags,
  examples: [['incap-cert remove --site-id 1234567 --auth-type RSA', 'drop a left-over RSA certificate']],
  run: (argv, io) =>
    remove(
      {
        siteId: argv['site-id'],
        keyType: argv['auth-type'],
        force: argv.force,
        liveDir: argv['live-dir'],
      },
      io.open('remove', runOptions(argv)),
    ),
});
