import { push, type PushOptions } from '../../commands/push.js';
import { UsageError } from '../../model/errors.js';
import { shownValue } from '../../util/shown.js';
import { defineCommand, type ArgsOf } from '../command.js';
import { pushFlags, runOptions, type GlobalArgs } from '../options.js';

/** What pushOptions reads of the command line (the global options may be there too). */
export type PushArgs = Pick<ArgsOf<typeof pushFlags>, keyof typeof pushFlags> & Partial<GlobalArgs>;

/** argv → what to push. Pure, so that the parser's tests need no files. */
export function pushOptions(argv: PushArgs): PushOptions {
  const { lineage, cert, key } = argv;
  const force = argv.force === true;
  if (lineage !== undefined && (cert !== undefined || key !== undefined)) {
    throw new UsageError('push takes either --lineage DIR or --cert FILE --key FILE, not both');
  }
  if (lineage !== undefined) return { input: { lineage }, siteIds: siteIds(argv['site-id']), force };
  if (cert === undefined || key === undefined) {
    throw new UsageError(
      cert === undefined && key === undefined
        ? 'push needs something to push: --lineage DIR, or --cert FULLCHAIN --key KEY'
        : `push needs ${cert === undefined ? '--cert FULLCHAIN' : '--key KEY'} too`,
    );
  }
  return { input: { cert, key }, siteIds: siteIds(argv['site-id']), force };
}

function siteIds(values: readonly string[] | undefined): string[] | undefined {
  return values?.map((id) => {
    const text = String(id).trim();
    if (!/^[1-9]\d*$/.test(text))
      throw new UsageError(`--site-id takes a site id (a positive whole number), not ${shownValue(text)}`);
    return text;
  });
}

export const pushCommand = defineCommand({
  name: 'push',
  usage: 'incap-cert push (--lineage DIR | --cert FILE --key FILE) [--site-id ID]... [--force] [options]',
  summary: 'Upload a certificate by hand: a lineage folder, or a full chain and its key.',
  options: pushFlags,
  examples: [
    ['incap-cert push --lineage /etc/letsencrypt/live/example.com', 'to the sites the map assigns'],
    [
      'incap-cert push --cert fullchain.pem --key privkey.pem --site-id 1234567',
      'to one site, whatever the map says',
    ],
    [
      'incap-cert push --lineage /etc/letsencrypt/live/example.com --force',
      'even to a site with names the certificate does not cover',
    ],
  ],
  run: async (argv, io) => {
    const options = pushOptions(argv);
    return push(options, io.open('push', runOptions(argv)));
  },
});
