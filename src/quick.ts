import type { Env } from './config/load.js';
import { bundleFor, dryRunLine, nothingToUpload, planHook, type HookPlan } from './engine/plan.js';

export interface QuickIO {
  out: (line: string) => void;
  err: (line: string) => void;
  now: () => Date;
}

/**
 * The most common hook runs, answered without loading yargs, winston or got (each costs 10–50 ms of start-up; node
 * itself about 20): Certbot runs every drop-in for every lineage, and most lineages map to no Imperva site — config,
 * certificate parse, map lookup, exit 0; and a mapped `deploy --dry-run`, which only reads and prints. A mapped
 * lineage's plan is handed to the full command line, which does not read the config and certificate again.
 * Anything else, and any problem at all, returns undefined: the full command line then does the run and reports
 * what is wrong, exactly as it always does.
 */
export function quickPlan(
  argv: readonly string[],
  env: Env,
  io: QuickIO | ((line: string) => void),
): { code: number } | { plan: HookPlan } | undefined {
  const { out, err, now } = typeof io === 'function' ? { out: io, err: () => {}, now: () => new Date() } : io;
  const flags = hookFlags(argv);
  if (flags === null) return undefined;
  try {
    const plan = planHook({ config: flags.config }, env);
    if (plan === undefined) return undefined;
    if (plan.wants.length === 0) {
      out(`${nothingToUpload(plan)}\n`);
      return { code: 0 };
    }
    // A dry run that also writes a log file takes the full path, which owns the log file.
    if (!flags.dryRun || plan.config.logFile !== undefined) return { plan };
    const bundles = plan.wants.map((want) => bundleFor(want, now(), plan.config.warnDays));
    for (const warning of new Set(bundles.flatMap((one) => one.warnings))) err(`warning: ${warning}\n`);
    plan.wants.forEach((want, index) => {
      const bundle = bundles[index]?.bundle;
      if (bundle !== undefined) out(`${dryRunLine(bundle, want.siteId, want.names)}\n`);
    });
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
 * `[]`, `[deploy]`, with `--config FILE` (or `-c FILE`, `--config=FILE`) and `--dry-run`: the hook's command lines.
 * null for any other command line.
 */
function hookFlags(argv: readonly string[]): { config: string | undefined; dryRun: boolean } | null {
  const rest = argv[0] === 'deploy' ? argv.slice(1) : [...argv];
  let config: string | undefined;
  let dryRun = false;
  for (let index = 0; index < rest.length; index += 1) {
    const arg = rest[index] as string;
    if (arg === '--dry-run' && !dryRun) dryRun = true;
    else if ((arg === '--config' || arg === '-c') && config === undefined && rest[index + 1]) {
      config = rest[index + 1];
      index += 1;
    } else if (arg.startsWith('--config=') && arg.length > 9 && config === undefined) config = arg.slice(9);
    else return null;
  }
  // A dry run with no command at all is not a hook run: the full command line says so.
  if (dryRun && argv[0] !== 'deploy') return null;
  return { config, dryRun };
}
