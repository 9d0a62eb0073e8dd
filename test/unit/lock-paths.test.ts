/** withLock on what can be at a lock path, and a wait bounded by the run's deadline. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { syncFolder } from '../../src/state/atomic-write.js';
import {
  LockBusyError,
  LockStoppedError,
  LockUnusableError,
  lockProblem,
  withLock,
} from '../../src/state/lock.js';
import { tempDir } from '../support/harness.js';

describe('withLock', () => {
  it('refuses a FIFO at the lock path at once, without opening it, and leaves it', async () => {
    const lock = join(tempDir(), 'queue.lock');
    execFileSync('mkfifo', [lock]);
    const started = Date.now();
    await assert.rejects(
      withLock(lock, async () => 'ran', { waitMs: 60_000 }),
      (error) => error instanceof LockUnusableError && /is a FIFO, not a lock file/.test(error.message),
    );
    assert.ok(Date.now() - started < 2_000);
    assert.ok(existsSync(lock));
  });

  it("ends the wait for a live holder by the run's deadline, not waitMs", async () => {
    const lock = join(tempDir(), 'queue.lock');
    const start = readFileSync(`/proc/${process.ppid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19];
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    writeFileSync(
      lock,
      JSON.stringify({ pid: process.ppid, start, boot, token: 'x', ns: readlinkSync('/proc/self/ns/pid') }),
    );
    const started = Date.now();
    await assert.rejects(
      withLock(lock, async () => 'ran', { waitMs: 60_000, deadlineAt: started + 300 }),
      LockBusyError,
    );
    assert.ok(Date.now() - started < 2_000, `waited ${Date.now() - started} ms`);
  });

  it('ends the wait for a live holder when the run is asked to stop', async () => {
    const lock = join(tempDir(), 'queue.lock');
    const start = readFileSync(`/proc/${process.ppid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19];
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    writeFileSync(
      lock,
      JSON.stringify({ pid: process.ppid, start, boot, token: 'x', ns: readlinkSync('/proc/self/ns/pid') }),
    );
    const stop = new AbortController();
    const started = Date.now();
    setTimeout(() => stop.abort('SIGTERM'), 200);
    await assert.rejects(
      withLock(lock, async () => 'ran', { waitMs: 60_000, signal: stop.signal }),
      LockStoppedError,
    );
    assert.ok(Date.now() - started < 2_000, `waited ${Date.now() - started} ms`);
  });

  it('takes its own lock with the pid namespace recorded, and names no young lock', async () => {
    const lock = join(tempDir(), 'queue.lock');
    await withLock(lock, async () => {
      const held = JSON.parse(readFileSync(lock, 'utf8')) as { ns?: string };
      assert.equal(held.ns, readlinkSync('/proc/self/ns/pid'));
      assert.equal(await lockProblem(lock), undefined);
    });
    assert.equal(existsSync(lock), false);
  });
});

describe('syncFolder', () => {
  it('fails at once on a FIFO where the folder was, without blocking on it', async () => {
    const fifo = join(tempDir(), 'state');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    await assert.rejects(syncFolder(fifo), { code: 'ENOTDIR' });
    assert.ok(Date.now() - started < 2_000);
  });
});
