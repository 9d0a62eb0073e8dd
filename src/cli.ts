#!/usr/bin/env node
import { quickDeploy } from './quick.js';

// A reader that goes away (`incap-cert status | head -1`) is not a failure of ours: stop writing, keep the exit code,
// print no stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
}

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
