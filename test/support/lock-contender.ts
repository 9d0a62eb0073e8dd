/**
 * One contender for a lock (test/unit/queue-lock.test.ts): waits for a common start time, then, under the lock,
 * notes its entry and exit in a journal and adds one to a counter with a read, a pause and a write — a lost update
 * or an interleaved journal means two held the lock at once. With a fifth argument `aside`, it sets aside what is
 * at the path and is not a lock, as the state folder's locks do.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { withLock } from '../../src/state/lock.js';

const [lockFile, counterFile, journalFile, startAt, aside] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string | undefined,
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
  // `aside`: as in the state folder, something at the path that is not a lock is set aside (and noted) once.
  {
    waitMs: 60_000,
    ...(aside === 'aside'
      ? { setAside: (message: string) => appendFileSync(journalFile, `aside ${process.pid} ${message}\n`) }
      : {}),
  },
);
