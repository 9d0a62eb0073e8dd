import type { CommandModule } from 'yargs';
import { readChain } from '../certificate/read.js';
import type { ExitCode } from '../errors.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { pushCertificate } from '../push/push.js';
import { hookSource } from '../sources/env.js';
import { openRun, type Deps, type GlobalFlags } from './context.js';

/** Hook mode: the ACME client's environment names the certificate; the map names the sites. */
export async function deploy(flags: GlobalFlags, deps: Deps, logger: Logger): Promise<ExitCode> {
  const source = hookSource(deps.env);
  if (source === undefined) {
    throw new UsageError(
      'deploy needs the certificate its ACME client names: RENEWED_LINEAGE (Certbot), LEGO_HOOK_CERT_PATH (lego 5), ' +
        'LEGO_CERT_PATH (lego 4) or CERT_FULLCHAIN_PATH (acme.sh); to push by hand, use: incap-cert push --lineage DIR',
    );
  }
  const ctx = openRun('deploy', flags, deps, logger);
  logger.debug(`certificate from ${source.client}: ${source.files.cert}, key ${source.files.key}`);
  return pushCertificate({ chain: readChain(source.files), files: source.files }, ctx);
}

export function deployCommand(
  deps: Deps,
  logger: Logger,
  done: (code: ExitCode) => void,
): CommandModule<GlobalFlags, GlobalFlags> {
  return {
    command: 'deploy',
    describe: "Certbot's --deploy-hook: upload the renewed certificate (RENEWED_LINEAGE) to its mapped sites",
    handler: async (argv) => done(await deploy(argv, deps, logger)),
  };
}
