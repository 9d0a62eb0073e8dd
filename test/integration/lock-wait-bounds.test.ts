/**
 * A wait for the queue's lock is bounded by the run, through the built CLI:
 * - by its deadline: a hook whose queue lock another live run holds ends by hookDeadlineSeconds (before, it waited
 *   the lock's own 15 s, past a 3 s deadline), and records what it owes in queue.d;
 * - by its stop: a SIGTERM during the wait ends it at once, exit 143, with what is still owed (and only that) in
 *   queue.d (before, the run sat in the wait until the 5 s grace killed it, leaving its whole intent behind);
 * - a run that must write the ARI cache (sync) while another run holds the lock ends by its deadline and at once on
 *   SIGTERM, its uploads made (before, the cache's wait was a fixed 15 s, past any deadline and deaf to SIGTERM);
 * - the temp file a live run is taking the lock with is never removed, whatever its time says (before, one whose
 *   time read as older than the boot — a clock set forward by NTP after boot — was removed under the writer).
 */
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { uptime } from 'node:os';
import { dirname, join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { holdLock, runTimed, startOf } from '../support/held-locks.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com', 'www.example.com'] });
});
let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

/** The queue lock, held by this (live) test process as another incap-cert run on this host would hold it. */
const holdQueueLock = (w: World) => holdLock(join(w.stateDir, 'queue.lock'));

/** The site ids recorded in queue.d's change files. */
function recordedInDropFolder(w: World): string[] {
  const dir = join(w.stateDir, 'queue.d');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .flatMap(
      (name) =>
        (JSON.parse(readFileSync(join(dir, name), 'utf8')) as { entries: { siteId: string }[] }).entries,
    )
    .map((entry) => entry.siteId)
    .sort();
}

describe("the queue lock's wait", () => {
  it('ends by the hook deadline: the change goes to queue.d, exit 1', async () => {
    world = await createWorld({ config: { hookDeadlineSeconds: 3 } });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    holdQueueLock(world);
    world.fake.inject({ endpoint: 'upload', siteId: '7654321', times: Infinity, fault: { status: 503 } });
    const result = await runTimed(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 1, result.stderr);
    assert.ok(result.ms < 6_000, `the hook outlived its 3 s deadline waiting for the lock: ${result.ms} ms`);
    assert.match(result.stderr, /is locked by another run; recorded in .*queue\.d/);
    assert.deepEqual(recordedInDropFolder(world), ['7654321']);
    assert.equal(existsSync(world.queueFile), false, 'queue.json was not written without the lock');
  });

  it('ends at once on SIGTERM: exit 143, one document, only what is owed recorded in queue.d', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    holdQueueLock(world);
    world.fake.inject({ endpoint: 'upload', siteId: '7654321', times: Infinity, fault: { status: 503 } });
    const result = await runTimed(
      ['deploy', '--json'],
      { ...world.env, RENEWED_LINEAGE: lineage },
      { signalAfterMs: 2_000 },
    );
    assert.equal(result.code, 143, result.stderr);
    assert.ok(
      (result.afterSignalMs ?? Infinity) < 3_000,
      `the run sat in the lock wait for ${result.afterSignalMs} ms after SIGTERM`,
    );
    assert.match(result.stderr, /asked to stop while it waited for the retry queue's lock/);
    const lines = result.stdout.split('\n').filter((line) => line !== '');
    assert.equal(lines.length, 1, result.stdout);
    const doc = JSON.parse(lines[0] ?? '') as { exitCode: number; interrupted: string };
    assert.equal(doc.exitCode, 143);
    assert.equal(doc.interrupted, 'SIGTERM');
    assert.deepEqual(
      world.fake.acceptedUploads().map((request) => request.siteId),
      ['1234567'],
    );
    assert.deepEqual(recordedInDropFolder(world), ['7654321'], 'the delivered site is not owed');
  });
});

describe("the ARI cache's wait for the queue lock", () => {
  // The renewal-path canary keeps its own verdicts under the same lock: off here, so that only the ARI cache waits.
  const config = { canary: false };

  it("ends by the deadline of the timer's run; the uploads are made", async () => {
    world = await createWorld({ config: { ...config, deadlineSeconds: 3 } });
    const live = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    holdQueueLock(world);
    const result = await runTimed(['sync', '--live-dir', dirname(live)], world.env);
    assert.equal(result.killed, false, result.stderr);
    assert.ok(
      result.ms < 8_000,
      `sync outlived its 3 s deadline waiting for the ARI cache's lock: ${result.ms} ms`,
    );
    assert.deepEqual(
      world.fake
        .acceptedUploads()
        .map((request) => request.siteId)
        .sort(),
      ['1234567', '7654321'],
    );
    assert.match(
      result.stderr,
      /cannot update the ARI cache .*ari\.json \(lock .*queue\.lock is held by another/,
    );
    assert.equal(existsSync(join(world.stateDir, 'ari.json')), false);
  });

  it('ends at once on SIGTERM, after the uploads', async () => {
    world = await createWorld({ config });
    const live = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    holdQueueLock(world);
    const w = world;
    const result = await runTimed(['sync', '--live-dir', dirname(live)], world.env, {
      signalWhen: () => w.fake.acceptedUploads().length === 2,
    });
    assert.equal(result.killed, false, result.stderr);
    assert.ok(result.afterSignalMs !== undefined, `no upload was made: ${result.stderr}`);
    assert.ok(
      result.afterSignalMs < 3_000,
      `the run sat in a state file's lock wait ${result.afterSignalMs} ms after SIGTERM`,
    );
    assert.equal(result.code, 143, result.stderr);
    assert.equal(existsSync(join(world.stateDir, 'ari.json')), false);
  });
});

describe('temp files beside the queue lock', () => {
  it("a live run's is left, whatever its time; a dead run's is removed", async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    mkdirSync(world.stateDir, { recursive: true, mode: 0o700 });
    const ns = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '';
    // This test process plays a run in the middle of taking the lock.
    const alive = join(
      world.stateDir,
      `queue.lock.${process.pid}-${startOf(process.pid)}-${ns}.0123abcd.tmp`,
    );
    const dead = join(world.stateDir, `queue.lock.999999999-1-${ns}.0123abce.tmp`);
    for (const file of [alive, dead]) writeFileSync(file, '{}\n', { mode: 0o600 });
    // Its time reads as before the boot: the clock was set forward after the boot.
    const beforeBoot = new Date(Date.now() - uptime() * 1000 - 3_600_000);
    utimesSync(alive, beforeBoot, beforeBoot);
    world.fake.inject({ endpoint: 'upload', siteId: '7654321', times: Infinity, fault: { status: 503 } });
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 1, result.stderr);
    assert.ok(existsSync(world.queueFile), 'the run held the lock');
    assert.equal(existsSync(alive), true, "a live run's temp file is left");
    assert.equal(existsSync(dead), false, "a dead run's temp file is removed");
  });
});
