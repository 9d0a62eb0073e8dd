import type { Argv, CommandModule } from 'yargs';
import { lineageFiles, readChain, type CertificateFiles } from '../certificate/read.js';
import type { ExitCode } from '../errors.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { pushCertificate } from '../push/push.js';
import { openRun, stringOption, type Deps, type GlobalFlags } from './context.js';

export interface PushFlags extends GlobalFlags {
  lineage: string | undefined;
  cert: string | undefined;
  key: string | undefined;
  'site-id': string[] | undefined;
}

export type PushInput = { lineage: string } | { cert: string; key: string };

export interface PushOptions {
  input: PushInput;
  siteIds: string[] | undefined;
}

/** argv → what to push. Pure, so that the parser's tests need no files. */
export function pushOptions(flags: PushFlags): PushOptions {
  const { lineage, cert, key } = flags;
  if (lineage !== undefined && (cert !== undefined || key !== undefined)) {
    throw new UsageError('push takes either --lineage DIR or --cert FILE --key FILE, not both');
  }
  if (lineage === undefined && (cert === undefined || key === undefined)) {
    throw new UsageError(
      cert === undefined && key === undefined
        ? 'push needs something to push: --lineage DIR, or --cert FULLCHAIN --key KEY'
        : `push needs ${cert === undefined ? '--cert FULLCHAIN' : '--key KEY'} too`,
    );
  }
  const siteIds = flags['site-id']?.map((id) => {
    const text = String(id).trim();
    if (!/^[1-9]\d*$/.test(text))
      throw new UsageError(`--site-id ${text}: a site id is a positive whole number`);
    return text;
  });
  return {
    input: lineage !== undefined ? { lineage } : { cert: cert as string, key: key as string },
    siteIds,
  };
}

/** A one-off push by hand. */
export async function push(flags: PushFlags, deps: Deps, logger: Logger): Promise<ExitCode> {
  const options = pushOptions(flags);
  const ctx = openRun('push', flags, deps, logger);
  const files: CertificateFiles =
    'lineage' in options.input ? lineageFiles(options.input.lineage) : options.input;
  return pushCertificate({ chain: readChain(files), files, siteIds: options.siteIds }, ctx);
}

export function pushCommand(
  deps: Deps,
  logger: Logger,
  done: (code: ExitCode) => void,
): CommandModule<GlobalFlags, PushFlags> {
  return {
    command: 'push',
    describe: 'Upload a certificate by hand: a lineage folder, or a full chain and a key',
    builder: (yargs: Argv<GlobalFlags>) =>
      yargs
        .option('lineage', {
          type: 'string',
          ...stringOption<string>('lineage'),
          describe: "A live folder with fullchain.pem and privkey.pem (Certbot's layout)",
        })
        .option('cert', {
          type: 'string',
          ...stringOption<string>('cert'),
          describe: 'The full chain PEM: leaf first, then intermediates',
        })
        .option('key', {
          type: 'string',
          ...stringOption<string>('key'),
          describe: 'The private key PEM (unencrypted)',
        })
        .option('site-id', {
          type: 'string',
          array: true,
          ...stringOption<string[]>('site-id'),
          describe: "Upload to this site id instead of the map's choice (repeatable)",
        }) as unknown as Argv<PushFlags>,
    handler: async (argv) => done(await push(argv, deps, logger)),
  };
}
