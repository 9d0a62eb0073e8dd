import { verify } from '../../commands/verify.js';
import { defineCommand } from '../command.js';
import { READING_GLOBALS, runOptions, verifyFlags } from '../options.js';

export const verifyCommand = defineCommand({
  name: 'verify',
  usage: 'incap-cert verify [--live-dir DIR] [--wait SECONDS] [--json] [options]',
  summary:
    "Ask the edge which certificate it serves each mapped site (a TLS handshake with the site's name, offering " +
    'only the key type of the local certificate) and compare the leaf with the local one: served, stale, wrong or ' +
    'unreachable. Exit 0 only when every site is served.',
  options: verifyFlags,
  globals: READING_GLOBALS,
  examples: [
    ['incap-cert verify', 'one line per site and key type'],
    [
      'INCAP_CERT_EDGE=203.0.113.7:443 incap-cert verify',
      'against one edge address, e.g. before a DNS cut-over',
    ],
  ],
  run: (argv, io) =>
    verify({ liveDir: argv['live-dir'], waitSeconds: argv.wait }, io.open('verify', runOptions(argv))),
});
