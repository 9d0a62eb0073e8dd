import { writeDirect } from './log/direct.js';
import { guardStreams } from './log/guard.js';
import type { HookPlan } from './engine/plan.js';
import { quickPlan } from './quick.js';
import { tuneHeap } from './run/heap.js';

/** The signals a run is asked to stop with, and their numbers (the same on every Linux). */
const SIGNAL_NUMBERS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

/** Everything but `--version`: see src/cli.ts. */
export function start(argv: readonly string[]): void {
  // Help is rendered from the option definitions (src/cli/help.ts), loaded only when asked for: a hook run never
  // pays for it.
  if (
    argv.includes('--help') ||
    argv.includes('-h') ||
    argv.includes('--version') ||
    argv.includes('help') ||
    argv.includes('completion')
  ) {
    guardStreams();
    void import('./cli/help.js').then(({ quickAnswer }) => {
      const answer = quickAnswer(argv);
      if (answer === undefined) return full(argv, undefined);
      if (answer.out !== undefined) process.stdout.write(answer.out);
      if (answer.err !== undefined) process.stderr.write(answer.err);
      process.exitCode = answer.code;
    });
    return;
  }
  // Written straight to the descriptors (log/direct.ts): a run that ends here never loads node:stream.
  const quick = quickPlan(argv, process.env, {
    out: (line) => writeDirect(1, line),
    err: (line) => writeDirect(2, line),
    now: () => new Date(),
  });
  if (quick !== undefined && 'code' in quick) process.exitCode = quick.code;
  else full(argv, quick?.plan);
}

/** The full command line, loaded only now. */
function full(argv: readonly string[], plan: HookPlan | undefined): void {
  // Output that cannot be written (a reader gone, stdout or stderr closed or full) is not a failure of ours: stop
  // writing, keep the exit code, print no stack trace.
  guardStreams();
  // Asked to stop (SIGTERM from systemd or lego's hook timeout, ^C, a closed terminal): every site not yet delivered
  // is already recorded as owed (intent is written before the first upload); the run records what it finished and
  // exits 128 + the signal's number. A second signal, or a run that cannot settle within a few seconds, ends at once.
  const stop = new AbortController();
  let watchdog: NodeJS.Timeout | undefined;
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => {
      const code = 128 + SIGNAL_NUMBERS[signal];
      if (stop.signal.aborted) process.exit(code); // eslint-disable-line no-restricted-properties
      stop.abort(signal);
      // eslint-disable-next-line no-restricted-properties
      watchdog = setTimeout(() => process.exit(code), 5_000);
    });
  }
  // Everything else goes through the full command line, loaded only now; first the heap is set to stay small
  // however many sites the run reaches (run/heap.ts).
  void import('node:v8')
    .then((v8) => tuneHeap(v8))
    .then(() => import('./cli/main.js'))
    .then(async ({ main, defaultDeps }) => {
      process.exitCode = await main(argv, defaultDeps(process.env, stop.signal), undefined, plan);
      clearTimeout(watchdog);
    });
}
