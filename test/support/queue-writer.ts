/** A child process that records one failure in a queue: many at once prove the lock (test/unit/queue.test.ts). */
import { Queue } from '../../src/state/queue.js';

const [stateDir, siteId] = process.argv.slice(2) as [string, string];
const log = { info() {}, warn() {}, error() {}, debug() {} };
await new Queue(stateDir, log).settle(
  [
    {
      siteId,
      authType: 'ECC',
      names: [`site${siteId}.example`],
      source: { cert: '/x/fullchain.pem', key: '/x/privkey.pem' },
      fingerprint: `fp${siteId}`,
      notAfter: new Date('2027-01-01T00:00:00Z'),
      error: 'HTTP 502',
      attempts: 4,
    },
  ],
  [],
);
