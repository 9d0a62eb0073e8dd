#!/usr/bin/env node
import { constants } from 'node:os';
import { quickAnswer } from './cli/help.js';
import { guardStreams } from './log/guard.js';
import { quickPlan } from './quick.js';

// Output that cannot be written (a reader gone, stdout or stderr closed or full) is not a failure of ours: stop
// writing, keep the exit code, print no stack trace.
guardStreams();

// Argv after the program: `node cli.cjs …` and the single executable (`incap-cert …`, argv[1] repeats argv[0]).
const argv = process.argv.slice(2);
const answer = quickAnswer(argv);
const quick =
  answer === undefined
    ? quickPlan(argv, process.env, {
        out: (line) => process.stdout.write(line),
        err: (line) => process.stderr.write(line),
        now: () => new Date(),
      })
    : undefined;
if (answer !== undefined) {
  if (answer.out !== undefined) process.stdout.write(answer.out);
  if (answer.err !== undefined) process.stderr.write(answer.err);
  process.exitCode = answer.code;
} else if (quick !== undefined && 'code' in quick) {
  process.exitCode = quick.code;
} else {
  // Asked to stop (SIGTERM from systemd or lego's hook timeout, ^C, a closed terminal): every site not yet delivered
  // is already recorded as owed (intent is written before the first upload); the run records what it finished and
  // exits 128 + the signal's number. A second signal, or a run that cannot settle within a few seconds, ends at once.
  const stop = new AbortController();
  let watchdog: NodeJS.Timeout | undefined;
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => {
      const code = 128 + constants.signals[signal];
      if (stop.signal.aborted) process.exit(code); // eslint-disable-line no-restricted-properties
      stop.abort(signal);
      // eslint-disable-next-line no-restricted-properties
      watchdog = setTimeout(() => process.exit(code), 5_000);
    });
  }
  // Everything else goes through the full command line, loaded only now.
  void import('./cli/main.js').then(async ({ main, defaultDeps }) => {
    process.exitCode = await main(
      argv,
      defaultDeps(process.env, stop.signal),
      undefined,
      quick === undefined ? undefined : quick.plan,
    );
    clearTimeout(watchdog);
  });
}
