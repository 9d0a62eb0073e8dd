import { noSiteLine, planHook, type HookPlan } from './engine/plan.js';
import type { Env } from './config/load.js';

/**
 * The most common hook run: Certbot runs every drop-in for every lineage, and most lineages map to no Imperva site.
 * Such a run — config, certificate parse, map lookup, exit 0 — is answered here without loading yargs, winston or
 * got (each costs 20–60 ms of start-up; node itself 20–50 ms). A mapped lineage's plan is handed to the full command
 * line, which does not read the config and certificate again. Anything else, and any problem at all, returns
 * undefined: the full command line then does the run and reports what is wrong, exactly as it always does.
 */
export function quickPlan(
  argv: readonly string[],
  env: Env,
  write: (line: string) => void,
): { code: number } | { plan: HookPlan } | undefined {
  const config = hookConfigFlag(argv);
  if (config === null) return undefined;
  try {
    const plan = planHook({ config }, env);
    if (plan === undefined) return undefined;
    if (plan.wants.length > 0) return { plan };
    write(`${noSiteLine(plan.chain.names)}\n`);
    return { code: 0 };
  } catch {
    return undefined;
  }
}

/** The fast path's answer: an exit code, or undefined when the full command line is to run. */
export function quickDeploy(
  argv: readonly string[],
  env: Env,
  write: (line: string) => void,
): number | undefined {
  const quick = quickPlan(argv, env, write);
  return quick !== undefined && 'code' in quick ? quick.code : undefined;
}

/**
 * `[]`, `[deploy]`, optionally with `--config FILE`: the hook's command lines. Returns the config flag (undefined
 * when not given), or null for any other command line.
 */
function hookConfigFlag(argv: readonly string[]): string | undefined | null {
  const rest = argv[0] === 'deploy' ? argv.slice(1) : argv;
  if (rest.length === 0) return undefined;
  if (rest.length === 2 && rest[0] === '--config' && rest[1]) return rest[1];
  if (rest.length === 1 && rest[0]?.startsWith('--config=') && rest[0].length > 9) return rest[0].slice(9);
  return null;
}
