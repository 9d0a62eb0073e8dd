import { remove } from '../../commands/remove.js';
import { defineCommand } from '../command.js';
import { removeFlags, runOptions } from '../options.js';

export const removeCommand = defineCommand({
  name: 'remove',
  usage: 'incap-cert remove --site-id ID --auth-type RSA|ECC [--force] [--dry-run] [options]',
  summary:
    "Remove a site's custom certificate of one key type. Refuses (exit 2, nothing sent) the key type this host " +
    "deploys and the site's only custom certificate, unless --force.",
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
