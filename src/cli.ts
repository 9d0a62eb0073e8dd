#!/usr/bin/env node
import { quickDeploy } from './quick.js';

// Argv after the program: `node cli.js …` and the single executable (`incap-cert …`, argv[1] repeats argv[0]).
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
