/**
 * One contender for a lock (test/unit/queue-lock.test.ts): waits for a common start time, then, under the lock,
 * notes its entry and exit in a journal and adds one to a counter with a read, a pause and a write — a lost update
 * or an interleaved journal means two held the lock at once.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { withLock } from '../../src/state/lock.js';

const [lockFile, counterFile, journalFile, startAt] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
];
const wait = Number(startAt) - Date.now();
if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
await withLock(
  lockFile,
  async () => {
    appendFileSync(journalFile, `+${process.pid}\n`);
    const count = Number(readFileSync(counterFile, 'utf8'));
    await new Promise((resolve) => setTimeout(resolve, 2));
    writeFileSync(counterFile, String(count + 1));
    appendFileSync(journalFile, `-${process.pid}\n`);
  },
  { waitMs: 60_000 },
);
