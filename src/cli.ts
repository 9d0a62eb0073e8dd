#!/usr/bin/env node
import { writeDirect } from './log/direct.js';
import { VERSION } from './version.js';

// Argv after the program: `node cli.cjs …` and the single executable (`incap-cert …`, argv[1] repeats argv[0]).
const argv = process.argv.slice(2);
// `--version` is answered before anything else is even evaluated; the rest (src/entry.ts) is loaded only now.
if (argv.length === 1 && argv[0] === '--version') writeDirect(1, `${VERSION}\n`);
else void import('./entry.js').then(({ start }) => start(argv));
