#!/usr/bin/env node
import { guardStreams } from './log/guard.js';
import { quickDeploy } from './quick.js';

// Output that cannot be written (a reader gone, stdout or stderr closed or full) is not a failure of ours: stop
// writing, keep the exit code, print no stack trace.
guardStreams();

// Argv after the program: `node cli.cjs …` and the single executable (`incap-cert …`, argv[1] repeats argv[0]).
const argv = process.argv.slice(2);
const quick = quickDeploy(argv, process.env, (line) => process.stdout.write(line));
if (quick !== undefined) {
  process.exitCode = quick;
} else {
  // Everything else goes through the full command line, loaded only now.
  void import('./app.js').then(async ({ main }) => {
    process.exitCode = await main(argv);
  });
}
