import { deploy } from '../../commands/deploy.js';
import { planHook } from '../../engine/plan.js';
import { UsageError } from '../../errors.js';
import { isHookEnvironment } from '../../sources/env.js';
import { defineCommand, type CommandIO } from '../command.js';
import { runOptions, type GlobalArgs } from '../options.js';

const NO_HOOK =
  'deploy needs the certificate its ACME client names: RENEWED_LINEAGE (Certbot), LEGO_HOOK_CERT_PATH (lego 5), ' +
  'LEGO_CERT_PATH (lego 4) or CERT_FULLCHAIN_PATH (acme.sh); to push by hand, use: incap-cert push --lineage DIR';

/** Hook mode, as `deploy` or with no command at all in a hook's environment. */
export async function runDeploy(argv: GlobalArgs, io: CommandIO) {
  const { deps, logger } = io;
  const options = runOptions(argv);
  logger.redactor.addSecret(deps.env.IMPERVA_API_KEY);
  const plan =
    io.preplanned ??
    planHook({ config: options.config, logFile: options.logFile }, deps.env, (key) =>
      logger.redactor.addSecret(key),
    );
  if (plan === undefined) throw new UsageError(NO_HOOK);
  return deploy(plan, io.open('deploy', options, plan.config));
}

export const deployCommand = (io: CommandIO) =>
  defineCommand({
    command: 'deploy',
    describe: "Certbot's --deploy-hook: upload the renewed certificate (RENEWED_LINEAGE) to its mapped sites",
    options: {},
    run: (argv) => runDeploy(argv, io),
    io,
  });

/** `--deploy-hook /usr/local/bin/incap-cert` runs us with no command: behave as deploy. */
export const defaultCommand = (io: CommandIO) =>
  defineCommand({
    command: '$0',
    describe: false,
    options: {},
    run: (argv) => {
      if (!isHookEnvironment(io.deps.env)) {
        throw new UsageError(
          'no command given (deploy, push, sync, status, check, verify, remove, queue, install, uninstall, completion or help); see incap-cert --help',
        );
      }
      return runDeploy(argv, io);
    },
    io,
  });
