import { deploy } from '../../commands/deploy.js';
import { planHook } from '../../engine/plan.js';
import { UsageError } from '../../model/errors.js';
import type { Report } from '../../model/report.js';
import { defineCommand, type CommandIO } from '../command.js';
import { runOptions, type GlobalArgs } from '../options.js';

const NO_HOOK =
  'deploy needs the certificate its ACME client names: RENEWED_LINEAGE (Certbot), LEGO_HOOK_CERT_PATH (lego 5), ' +
  'LEGO_CERT_PATH (lego 4) or CERT_FULLCHAIN_PATH (acme.sh); to push by hand, use: incap-cert push --lineage DIR';

/** Hook mode, as `deploy` or with no command at all in a hook's environment (src/cli/parser.ts). */
export async function runDeploy(argv: GlobalArgs, io: CommandIO): Promise<Report> {
  const { deps, logger } = io;
  const options = runOptions(argv);
  logger.redactor.addSecret(deps.env.IMPERVA_API_KEY);
  const plan = planHook({ config: options.config, logFile: options.logFile }, deps.env, (key) =>
    logger.redactor.addSecret(key),
  );
  if (plan === undefined) throw new UsageError(NO_HOOK);
  return deploy(plan, io.open('deploy', options, plan.config));
}

export const deployCommand = defineCommand({
  name: 'deploy',
  usage: 'incap-cert deploy [options]',
  summary:
    "Run as the ACME client's deploy hook: upload the certificate it names (RENEWED_LINEAGE, LEGO_*, CERT_*) to " +
    'every site the map assigns to its names. With no command at all in a hook environment, incap-cert does this.',
  options: {},
  examples: [
    ['certbot renew --deploy-hook "/usr/local/bin/incap-cert deploy"', 'register with Certbot'],
    [
      'RENEWED_LINEAGE=/etc/letsencrypt/live/example.com incap-cert deploy --dry-run',
      'what a renewal would do',
    ],
  ],
  run: (argv, io) => runDeploy(argv, io),
});
