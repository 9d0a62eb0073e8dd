import type { KeyType } from '../../certificate/key.js';
import { remove } from '../../commands/remove.js';
import { defineCommand, type CommandIO } from '../command.js';
import { removeFlags, runOptions } from '../options.js';

/** yargs' `choices` has already refused anything else. */
const keyTypeOf = (value: string): KeyType => (value === 'RSA' ? 'RSA' : 'ECC');

export const removeCommand = (io: CommandIO) =>
  defineCommand({
    command: 'remove',
    describe: "Remove a site's custom certificate of one key type",
    options: removeFlags,
    run: (argv) =>
      remove(
        {
          siteId: argv['site-id'],
          keyType: keyTypeOf(argv['auth-type']),
          force: argv.force,
          liveDir: argv['live-dir'],
        },
        io.open('remove', runOptions(argv)),
      ),
    io,
  });
