/**
 * The queue lock under contention: forty processes at the same moment, with stale locks injected while they run —
 * left by a dead process, and by a pid that is alive but now belongs to another process — never let two in at once
 * and never lose an update. Runs the contenders as plain node processes (bundled once with esbuild) so that forty of
 * them start fast on a small machine.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  linkSync,
  readFileSync,
  readdirSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { build } from 'esbuild';
import { LockBusyError, withLock } from '../../src/state/lock.js';
import { Queue } from '../../src/state/queue.js';
import { ROOT, tempDir } from '../support/harness.js';

const WRITERS = 40;
const ROUNDS = 3;
let bundles: { lock: string; queue: string };

before(async () => {
  const dir = tempDir();
  bundles = { lock: join(dir, 'lock-writer.mjs'), queue: join(dir, 'queue-writer.mjs') };
  await Promise.all([
    build({
      entryPoints: [join(ROOT, 'test/support/lock-contender.ts')],
      outfile: bundles.lock,
      bundle: true,
      platform: 'node',
      format: 'esm',
      logLevel: 'warning',
    }),
    build({
      entryPoints: [join(ROOT, 'test/support/queue-writer.ts')],
      outfile: bundles.queue,
      bundle: true,
      platform: 'node',
      format: 'esm',
      logLevel: 'warning',
    }),
  ]);
});

function run(script: string, args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('close', resolve);
  });
}

function bootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

/** Stale locks as a crashed run leaves them: by a pid that is gone, and by a pid alive now but reused. */
function staleLocks(): string[] {
  return [
    '999999999\n',
    `${JSON.stringify({ pid: 999999999, start: '1', boot: bootId(), token: 'dead' })}\n`,
    // This test's own pid: alive, but it did not start at tick 1 — the pid was "reused".
    `${JSON.stringify({ pid: process.pid, start: '1', boot: bootId(), token: 'reused' })}\n`,
    `${JSON.stringify({ pid: process.pid, start: '1', boot: 'another-boot', token: 'rebooted' })}\n`,
  ];
}

/**
 * While `running` is pending, plants stale locks whenever the lock is free — atomically, the way a run that then
 * crashed would have taken it — up to `count` times. Returns how many it planted.
 */
async function injectStaleLocks(lockFile: string, running: Promise<unknown>, count: number): Promise<number> {
  let done = false;
  void running.finally(() => (done = true));
  let planted = 0;
  const forms = staleLocks();
  while (!done && planted < count) {
    const temp = `${lockFile}.inject-${randomBytes(4).toString('hex')}`;
    writeFileSync(temp, forms[planted % forms.length] ?? '');
    // Old enough that an age rule (the 0.1 lock's, for what it cannot parse) also calls it stale.
    utimesSync(temp, new Date(Date.now() - 10_000), new Date(Date.now() - 10_000));
    try {
      linkSync(temp, lockFile);
      planted += 1;
    } catch {
      // held right now
    } finally {
      unlinkSync(temp);
    }
    await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
  }
  return planted;
}

describe('the queue lock under contention', () => {
  for (let round = 1; round <= ROUNDS; round += 1) {
    it(`${WRITERS} processes at once, stale locks planted as they run, one holder at a time (round ${round})`, async () => {
      const dir = tempDir();
      const lockFile = join(dir, 'queue.lock');
      const counter = join(dir, 'counter');
      const journal = join(dir, 'journal');
      writeFileSync(counter, '0');
      writeFileSync(journal, '');
      writeFileSync(lockFile, staleLocks()[round % 2] ?? '');
      utimesSync(lockFile, new Date(Date.now() - 10_000), new Date(Date.now() - 10_000));
      const startAt = String(Date.now() + 1_500);
      const writers = Promise.all(
        Array.from({ length: WRITERS }, () => run(bundles.lock, [lockFile, counter, journal, startAt])),
      );
      const planted = await injectStaleLocks(lockFile, writers, 12);
      assert.deepEqual(await writers, Array(WRITERS).fill(0), 'every writer got the lock');
      const lines = readFileSync(journal, 'utf8').trim().split('\n');
      for (let index = 0; index < lines.length; index += 2) {
        assert.equal(
          lines[index + 1],
          `-${(lines[index] ?? '').slice(1)}`,
          `two held the lock at once: ${lines.slice(index, index + 4).join(',')}`,
        );
      }
      assert.equal(
        Number(readFileSync(counter, 'utf8')),
        WRITERS,
        `updates lost (${planted} stale locks planted)`,
      );
      // Released: gone, or (the planter may outlive the last writer by a moment) one of the planted stale locks.
      assert.ok(
        !existsSync(lockFile) || staleLocks().includes(readFileSync(lockFile, 'utf8')),
        'a writer left its lock behind',
      );
    });
  }

  it(`${WRITERS} runs failing at once on ${WRITERS} sites, with a stale lock left behind, leave ${WRITERS} queue entries`, async () => {
    const stateDir = tempDir();
    const lockFile = join(stateDir, 'queue.lock');
    writeFileSync(lockFile, '999999999\n');
    const writers = Promise.all(
      Array.from({ length: WRITERS }, (_, index) => run(bundles.queue, [stateDir, String(index + 1)])),
    );
    await injectStaleLocks(lockFile, writers, 8);
    assert.deepEqual(await writers, Array(WRITERS).fill(0));
    const log = { info() {}, warn() {}, error() {}, debug() {} };
    const entries = await new Queue(stateDir, log).entries();
    assert.deepEqual(
      entries.map((entry) => Number(entry.siteId)).sort((a, b) => a - b),
      Array.from({ length: WRITERS }, (_, index) => index + 1),
    );
    assert.deepEqual(
      readdirSync(stateDir).filter((name) => name.includes('.tmp')),
      [],
      'no temporary file is left',
    );
  });
});

describe('withLock judges a lock by its holder, not its pid alone', () => {
  it('a lock whose pid is alive but was reused (another start time) is taken over at once', async () => {
    const lock = join(tempDir(), 'queue.lock');
    writeFileSync(lock, JSON.stringify({ pid: process.pid, start: '1', boot: bootId(), token: 'x' }));
    assert.equal(await withLock(lock, async () => 'ran', { waitMs: 60_000, staleMs: 3_600_000 }), 'ran');
  });

  it('a lock from before a reboot is taken over at once', async () => {
    const lock = join(tempDir(), 'queue.lock');
    writeFileSync(lock, JSON.stringify({ pid: process.ppid, boot: 'another-boot', token: 'x' }));
    assert.equal(await withLock(lock, async () => 'ran', { waitMs: 60_000, staleMs: 3_600_000 }), 'ran');
  });

  it('a live holder is waited for however old its lock, and the wait ends in LockBusyError', async () => {
    const lock = join(tempDir(), 'queue.lock');
    const start = readFileSync(`/proc/${process.ppid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19];
    writeFileSync(lock, JSON.stringify({ pid: process.ppid, start, boot: bootId(), token: 'x' }));
    utimesSync(lock, new Date(0), new Date(0));
    await assert.rejects(
      withLock(lock, async () => 'ran', { waitMs: 200, staleMs: 1 }),
      (error) => {
        assert.ok(error instanceof LockBusyError);
        assert.equal(error.file, lock);
        assert.match(error.message, /^lock .*queue\.lock is held by another incap-cert run \(waited 0 s\)$/);
        return true;
      },
    );
    assert.ok(existsSync(lock), 'the live holder’s lock is still there');
  });

  it('releasing never removes a lock that is not its own', async () => {
    const lock = join(tempDir(), 'queue.lock');
    await withLock(lock, async () => {
      // Someone wrongly replaced our lock: on release, theirs stays.
      unlinkSync(lock);
      writeFileSync(lock, JSON.stringify({ pid: process.ppid, token: 'theirs' }));
    });
    assert.equal((JSON.parse(readFileSync(lock, 'utf8')) as { token: string }).token, 'theirs');
  });
});
