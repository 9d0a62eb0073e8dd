/**
 * A wait for the queue's lock is bounded by the run, through the built CLI:
 * - by its deadline: a hook whose queue lock another live run holds ends by hookDeadlineSeconds (before, it waited
 *   the lock's own 15 s, past a 3 s deadline), and records what it owes in queue.d;
 * - by its stop: a SIGTERM during the wait ends it at once, exit 143, with what is still owed (and only that) in
 *   queue.d (before, the run sat in the wait until the 5 s grace killed it, leaving its whole intent behind);
 * - the temp file a live run is taking the lock with is never removed, whatever its time says (before, one whose
 *   time read as older than the boot — a clock set forward by NTP after boot — was removed under the writer).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { CLI, runCli, type CliResult } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com', 'www.example.com'] });
});
let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

/** Field 22 of /proc/PID/stat: the start time a lock records. */
function startOf(pid: number): string {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19] ?? '';
}

/** The queue lock, held by this (live) test process as another incap-cert run on this host would hold it. */
function holdQueueLock(w: World): void {
  mkdirSync(w.stateDir, { recursive: true, mode: 0o700 });
  const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  const ns = readlinkSync('/proc/self/ns/pid');
  const holder = { pid: process.pid, start: startOf(process.pid), boot, token: 'held-by-the-test', ns };
  writeFileSync(join(w.stateDir, 'queue.lock'), `${JSON.stringify(holder)}\n`, { mode: 0o600 });
}

/** Runs the built CLI; sends SIGTERM `signalAfterMs` after the start when given; kills it after 40 s. */
function run(
  args: readonly string[],
  env: Record<string, string>,
  signalAfterMs?: number,
): Promise<CliResult & { ms: number; afterSignalMs: number | undefined }> {
  const started = Date.now();
  let signalled: number | undefined;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const killer = setTimeout(() => child.kill('SIGKILL'), 40_000);
    const stopper =
      signalAfterMs === undefined
        ? undefined
        : setTimeout(() => {
            signalled = Date.now();
            child.kill('SIGTERM');
          }, signalAfterMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      clearTimeout(stopper);
      const now = Date.now();
      resolve({
        code,
        stdout,
        stderr,
        ms: now - started,
        afterSignalMs: signalled === undefined ? undefined : now - signalled,
      });
    });
  });
}

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
    const result = await run(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
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
    const result = await run(['deploy', '--json'], { ...world.env, RENEWED_LINEAGE: lineage }, 2_000);
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
