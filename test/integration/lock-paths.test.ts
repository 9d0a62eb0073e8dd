/**
 * Nothing blocks on what is at a lock path. Certbot waits for its deploy hook without a timeout, so a hook that
 * blocks on a FIFO at `queue.lock` (or on the metrics file's lock, in a folder that is often another user's) stalls
 * every later renewal on the host. Each run here is killed after a bound; a run that had to be killed fails.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { lockFromAnotherNamespace, runTimed, startOf } from '../support/held-locks.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com', 'www.example.com'] });
});
let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

/** Runs the built CLI; kills it after `boundMs` and says so (`killed`), rather than hang the test. */
const runBounded = (args: readonly string[], env: Record<string, string>, boundMs = 30_000) =>
  runTimed(args, env, { boundMs });

const quoted = (file: string) => `rm -- '${file}'`;

/** What can be at a lock path that is not a lock: at the metrics lock each is refused at once, named, and left. */
const notLocks: [string, (path: string) => void, RegExp][] = [
  ['a FIFO', (path) => execFileSync('mkfifo', [path]), /(?:is|was) a FIFO, not a lock file; not read/],
  [
    'a link to /dev/zero',
    (path) => symlinkSync('/dev/zero', path),
    /(?:is|was) a symbolic link, not a lock file/,
  ],
  ['a folder', (path) => mkdirSync(path), /(?:is|was) a folder, not a lock file/],
  [
    'a 5 KiB file',
    (path) => writeFileSync(path, 'x'.repeat(5 * 1024)),
    /(?:is|was) 5120 bytes, not a lock file/,
  ],
];

describe('something that is not a lock at queue.lock', () => {
  for (const [title, plant, named] of notLocks) {
    it(`${title}: the deploy hook uploads, ends at once, sets it aside unread, names it, and queues its failure`, async () => {
      world = await createWorld();
      const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
      mkdirSync(world.stateDir, { recursive: true, mode: 0o700 });
      const lock = join(world.stateDir, 'queue.lock');
      plant(lock);
      // One site fails: there is a change to record, and it must not be lost.
      world.fake.inject({ endpoint: 'upload', siteId: '7654321', times: Infinity, fault: { status: 503 } });
      const result = await runBounded(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
      assert.equal(result.killed, false, `the hook hung on ${title} at the lock path`);
      assert.ok(result.ms < 10_000, `the hook waited ${result.ms} ms on what cannot be a lock`);
      assert.equal(result.code, 1, result.stderr);
      assert.deepEqual(
        world.fake
          .requestsTo('upload')
          .filter((request) => request.res === 0)
          .map((request) => request.siteId),
        ['1234567'],
        'the other site was uploaded',
      );
      // Set aside, as queue.json and queue.d files that cannot be used are: one line naming what it was and where.
      const lines = result.stderr.split('\n').filter((line) => line.includes('queue.lock'));
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0] ?? '', named);
      assert.match(lines[0] ?? '', /kept aside as .*queue\.lock\.rejected-\d{4}-/);
      const kept = readdirSync(world.stateDir).filter((name) => name.startsWith('queue.lock.rejected-'));
      assert.equal(kept.length, 1, 'what was there is kept, under another name');
      assert.equal(existsSync(lock), false, 'the lock was released after use');
      if (title === 'a link to /dev/zero')
        assert.equal(
          readlinkSync(join(world.stateDir, kept[0] ?? '')),
          '/dev/zero',
          'the link itself was moved',
        );
      // The failure is in the queue itself: the lock could be taken.
      const queue = JSON.parse(readFileSync(world.queueFile, 'utf8')) as { entries: { siteId: string }[] };
      assert.deepEqual(
        queue.entries.map((entry) => entry.siteId),
        ['7654321'],
      );
      const dropped = existsSync(join(world.stateDir, 'queue.d'))
        ? readdirSync(join(world.stateDir, 'queue.d')).filter((name) => name.endsWith('.json'))
        : [];
      assert.deepEqual(dropped, [], 'nothing needed queue.d');
    });
  }
});

describe("something that is not a lock at the metrics file's lock", () => {
  for (const [title, plant, named] of notLocks) {
    it(`${title}: the hook uploads, ends at once with exit 0, and warns in one line naming the lock`, async () => {
      world = await createWorld();
      const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
      const metricsDir = join(world.dir, 'node-exporter');
      mkdirSync(metricsDir);
      const metrics = join(metricsDir, 'incap-cert.prom');
      plant(`${metrics}.lock`);
      const result = await runBounded(['deploy', '--metrics-file', metrics], {
        ...world.env,
        RENEWED_LINEAGE: lineage,
      });
      assert.equal(result.killed, false, `the hook hung on ${title} at the metrics lock`);
      assert.ok(result.ms < 10_000, `the hook waited ${result.ms} ms on what cannot be a lock`);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(world.fake.uploads().length, 2);
      const lines = result.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0] ?? '', named);
      assert.ok(result.stderr.includes(quoted(`${metrics}.lock`)), result.stderr);
      assert.equal(existsSync(metrics), false, 'no metrics written without the lock');
    });
  }
});

describe('a lock holder in another PID namespace', () => {
  it('is waited for, not taken over: the hook records its change in queue.d and names the namespace', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    mkdirSync(world.stateDir, { recursive: true, mode: 0o700 });
    const lock = join(world.stateDir, 'queue.lock');
    const held = lockFromAnotherNamespace();
    writeFileSync(lock, held);
    world.fake.inject({ endpoint: 'upload', siteId: '7654321', times: Infinity, fault: { status: 503 } });
    const result = await runBounded(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage }, 60_000);
    assert.equal(result.killed, false);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /locked by another run; recorded in .*queue\.d/);
    assert.equal(readFileSync(lock, 'utf8'), held, 'the lock of a holder this host cannot check is left');
    assert.equal(
      existsSync(world.queueFile),
      false,
      'queue.json was not written under a lock held elsewhere',
    );
    const aside = readdirSync(join(world.stateDir, 'queue.d')).filter((name) => name.endsWith('.json'));
    assert.equal(aside.length, 1);
  });

  it("at the metrics lock: the wait ends by the run's deadline, with a warning naming the namespace", async () => {
    world = await createWorld({ config: { deadlineSeconds: 3 } });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const metrics = join(world.dir, 'incap-cert.prom');
    writeFileSync(`${metrics}.lock`, lockFromAnotherNamespace());
    const result = await runBounded(['deploy', '--metrics-file', metrics], {
      ...world.env,
      RENEWED_LINEAGE: lineage,
    });
    assert.equal(result.killed, false);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.ms < 8_000, `the run outlasted its 3 s deadline waiting for the lock: ${result.ms} ms`);
    assert.match(result.stderr, /in another PID namespace \(pid 999999999 there\), which cannot be checked/);
    assert.equal(existsSync(metrics), false);
  });
});

describe('status and check name a lock older than a day', () => {
  for (const command of ['status', 'check']) {
    it(`${command}: one line with the command that clears it; a young lock is not named`, async () => {
      world = await createWorld();
      const live = join(world.dir, 'le');
      writeCertbotLineage(live, 'example.com', leaf);
      mkdirSync(world.stateDir, { recursive: true, mode: 0o700 });
      const lock = join(world.stateDir, 'queue.lock');
      writeFileSync(lock, lockFromAnotherNamespace());
      const young = await runBounded([command, '--live-dir', live], world.env);
      assert.doesNotMatch(young.stderr, /queue\.lock/);
      const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
      utimesSync(lock, twoDaysAgo, twoDaysAgo);
      const old = await runBounded([command, '--live-dir', live], world.env);
      assert.equal(old.killed, false);
      const named = old.stderr.split('\n').filter((line) => line.includes('queue.lock'));
      assert.equal(named.length, 1, old.stderr);
      assert.match(
        named[0] ?? '',
        /lock .*queue\.lock has been held by pid 999999999 in another PID namespace since \d{4}-\d\d-\d\dT.*, more than a day\. If no incap-cert run is running, clear it with: rm -- '.*queue\.lock'$/,
      );
      assert.notEqual(old.code, 0, 'a lock nothing releases is not healthy');
      assert.ok(existsSync(lock), 'naming it does not remove it');
    });
  }
});

describe('temp files a killed metrics write left', () => {
  it('are removed by a later run only when the process named in them is not running', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const metrics = join(world.dir, 'incap-cert.prom');
    const ns = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '';
    const start = startOf(process.pid);
    const dead = join(world.dir, `.incap-cert.prom.999999999-1-${ns}.0123456789ab.tmp`);
    const reused = join(world.dir, `.incap-cert.prom.${process.pid}-1-${ns}.0123456789ac.tmp`);
    const alive = join(world.dir, `.incap-cert.prom.${process.pid}-${start}-${ns}.0123456789ad.tmp`);
    const elsewhere = join(world.dir, `.incap-cert.prom.999999999-1-1.0123456789ae.tmp`);
    for (const file of [dead, reused, alive, elsewhere]) writeFileSync(file, 'incap_cert_queue_entries 0\n');
    const result = await runBounded(['deploy', '--metrics-file', metrics], {
      ...world.env,
      RENEWED_LINEAGE: lineage,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(existsSync(metrics));
    assert.equal(existsSync(dead), false, 'a dead writer’s temp file is removed');
    assert.equal(existsSync(reused), false, 'a temp file whose pid now names another process is removed');
    assert.equal(existsSync(alive), true, 'a live writer’s temp file is left');
    assert.equal(existsSync(elsewhere), true, 'a writer in another PID namespace is not judged');
  });
});
