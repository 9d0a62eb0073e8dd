#!/usr/bin/env node
import { defaultDeps, main, stopOnSignals } from './main.js';

// `node cli.cjs …` and the single executable (`incap-cert …`, where argv[1] repeats argv[0]) alike.
void main(process.argv.slice(2), defaultDeps(process.env, stopOnSignals())).then((code) => {
  process.exitCode = code;
});
