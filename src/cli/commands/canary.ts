import { canary } from '../../commands/canary.js';
import { defineCommand } from '../command.js';
import { canaryFlags, READING_GLOBALS, runOptions } from '../options.js';

export const canaryCommand = defineCommand({
  name: 'canary',
  usage: 'incap-cert canary [--live-dir DIR] [--json] [options]',
  summary:
    'Prove the http-01 renewal path through Imperva: place a token where the ACME client puts its challenge, ask ' +
    "for it through the site's edge on port 80, and remove it. Verdicts: pass (from this host), blocked, " +
    'redirected, not-found, unreachable. Exit 0 only when every checked name passes.',
  options: canaryFlags,
  // It writes the metrics file (config metricsFile, --metrics-file); it has no dry run.
  globals: READING_GLOBALS,
  examples: [
    ['incap-cert canary', 'one line per name of every mapped lineage'],
    ['INCAP_CERT_EDGE_HTTP=203.0.113.7:80 incap-cert canary', 'through one edge address'],
  ],
  run: (argv, io) => canary({ liveDir: argv['live-dir'] }, io.open('canary', runOptions(argv))),
});
