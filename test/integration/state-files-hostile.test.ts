/**
 * Every file in the state folder gets the same care, not only queue.json and queue.lock: what is at the path of the
 * delivery record, the ARI cache, the shared pace or the queue itself may be a FIFO, a link to /dev/zero, a folder
 * or a file far past its bound (a hostile or broken host). The timer's `sync` must neither hang on it (opening a
 * FIFO for reading waits for a writer; /dev/zero never ends) nor read it whole, and must still upload. Each run is
 * killed after a bound; a run that had to be killed fails.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { FakeHttpEdge } from '../support/fake-edge.js';
import { runTimed, startOf } from '../support/held-locks.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com', 'www.example.com'] });
});
let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

/** A sparse file of `bytes`: larger than its bound on paper, nothing on disk. */
const sparse = (path: string, bytes: number) => {
  closeSync(openSync(path, 'w', 0o600));
  truncateSync(path, bytes);
};

/** Each state file a sync reads, and the size past its bound. */
const stateFiles: [string, number][] = [
  ['queue.json', 64 * 1024 * 1024 + 1],
  ['delivered.json', 64 * 1024 * 1024 + 1],
  ['ari.json', 64 * 1024 * 1024 + 1],
  ['pace.json', 64 * 1024 * 1024 + 1],
];

const hostile: [string, (path: string, tooLarge: number) => void][] = [
  ['a FIFO', (path) => execFileSync('mkfifo', ['-m', '600', path])],
  ['a link to /dev/zero', (path) => symlinkSync('/dev/zero', path)],
  ['a folder', (path) => mkdirSync(path, { mode: 0o700 })],
  ['a file past its bound', (path, tooLarge) => sparse(path, tooLarge)],
];

describe('what is at a state file’s path never stalls sync, nor stops its uploads', () => {
  for (const [name, tooLarge] of stateFiles) {
    for (const [title, plant] of hostile) {
      it(`${title} at ${name}: sync ends at once, uploads, and names the file`, async () => {
        world = await createWorld();
        writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
        mkdirSync(world.stateDir, { recursive: true, mode: 0o700 });
        const path = join(world.stateDir, name);
        plant(path, tooLarge);
        const result = await runTimed(['sync', '--live-dir', join(world.dir, 'le', 'live')], world.env, {
          boundMs: 30_000,
        });
        assert.equal(result.killed, false, `sync hung on ${title} at ${name}:\n${result.stderr}`);
        assert.ok(result.ms < 15_000, `sync took ${result.ms} ms on ${title} at ${name}`);
        assert.deepEqual(
          world.fake
            .uploads()
            .filter((request) => request.res === 0)
            .map((request) => request.siteId)
            .sort(),
          ['1234567', '7654321'],
          `both sites uploaded:\n${result.stderr}`,
        );
        assert.ok(result.code === 0, `exit ${result.code}:\n${result.stderr}`);
        if (title !== 'a folder' || name === 'queue.json') {
          assert.ok(result.stderr.includes(path), `the file is named:\n${result.stderr}`);
        }
        // What was there is never opened for reading; a FIFO or a link stays one, wherever it is kept.
        lstatSync(world.stateDir);
      });
    }
  }
});

/** The files a run writes beside its uploads, outside the state folder: the metrics file (its folder is often another
 * user's: node_exporter's textfile folder) and the log file. */
const runFiles: [string, string, number][] = [
  ['the metrics file', '--metrics-file', 64 * 1024 * 1024 + 1],
  ['the log file', '--log-file', 0],
];

/** A state file someone else could have written: never read, set aside by the run that holds the lock. */
const untrusted: [string, (path: string) => void, RegExp][] = [
  ['owned by another user', (path) => chownSync(path, 1234, 1234), /it is owned by user 1234/],
  ['writable by others', (path) => chmodSync(path, 0o666), /it is writable by group or others \(mode 0666\)/],
];

describe('a state file someone else could have written is not read', () => {
  for (const name of ['delivered.json', 'ari.json', 'pace.json']) {
    for (const [title, spoil, reason] of untrusted) {
      it(`${name} ${title}: sync uploads, says why it was not read`, async () => {
        world = await createWorld();
        writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
        mkdirSync(world.stateDir, { recursive: true, mode: 0o700 });
        const path = join(world.stateDir, name);
        writeFileSync(path, '{"version": 1}\n', { mode: 0o600 });
        spoil(path);
        const result = await runTimed(['sync', '--live-dir', join(world.dir, 'le', 'live')], world.env, {
          boundMs: 30_000,
        });
        assert.equal(result.code, 0, result.stderr);
        assert.equal(world.fake.acceptedUploads().length, 2, result.stderr);
        const line = result.stderr.split('\n').find((text) => text.includes(path)) ?? '';
        assert.match(line, reason, result.stderr);
      });
    }
  }
});

describe('what is at the metrics or the log file’s path never stalls the hook, nor stops its uploads', () => {
  for (const [what, flag, tooLarge] of runFiles) {
    for (const [title, plant] of hostile) {
      if (tooLarge === 0 && title === 'a file past its bound') continue;
      it(`${title} at ${what}: the hook ends at once, uploads, exits 0 and names the file`, async () => {
        world = await createWorld();
        const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
        const folder = join(world.dir, 'elsewhere');
        mkdirSync(folder, { mode: 0o755 });
        const path = join(folder, 'incap-cert.out');
        plant(path, tooLarge);
        const result = await runTimed(
          ['deploy', flag, path],
          { ...world.env, RENEWED_LINEAGE: lineage },
          {
            boundMs: 30_000,
          },
        );
        assert.equal(result.killed, false, `the hook hung on ${title} at ${what}:\n${result.stderr}`);
        assert.ok(result.ms < 15_000, `the hook took ${result.ms} ms on ${title} at ${what}`);
        assert.equal(world.fake.uploads().filter((request) => request.res === 0).length, 2, result.stderr);
        assert.equal(result.code, 0, result.stderr);
        if (title !== 'a file past its bound') {
          assert.ok(result.stderr.includes(path), `the file is named:\n${result.stderr}`);
        }
      });
    }
  }
});

describe('temp files killed writes left in the state folder', () => {
  it('are removed by the next run that holds the queue lock, whichever state file it writes', async () => {
    world = await createWorld();
    writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const sync = () =>
      runTimed(['sync', '--live-dir', join((world as World).dir, 'le', 'live')], (world as World).env, {
        boundMs: 30_000,
      });
    assert.equal((await sync()).code, 0, 'the first sync uploads');
    const dead = 2 ** 22 + 1; // above Linux's largest pid: never running
    // What a status killed while writing the ARI cache, or a run killed while writing the shared pace, leaves.
    const left = [`.queue.${dead}.0a0b.tmp`, `.queue.${dead}.0c0d.tmp`];
    for (const name of left) writeFileSync(join(world.stateDir, name), '{"version"', { mode: 0o600 });
    // A shared pace it cannot use: this run sets it aside, under the queue lock. Nothing is uploaded or queued.
    writeFileSync(join(world.stateDir, 'pace.json'), '{"version": 1, "perSecond": "fast"}\n', {
      mode: 0o600,
    });
    world.fake.requests.length = 0;
    const result = await sync();
    assert.equal(result.code, 0, result.stderr);
    assert.equal(world.fake.uploads().length, 0, 'nothing to upload');
    assert.match(result.stderr, /shared pace .*pace\.json: not a shared pace of version 1; kept aside as /);
    assert.deepEqual(
      readdirSync(world.stateDir).filter((name) => name.endsWith('.tmp')),
      [],
      'what killed writes left is gone',
    );
  });
});

describe('what is at the canary’s record never stalls the canary', () => {
  for (const [title, plant] of hostile) {
    it(`${title} at renewal-paths.json: the canary ends at once, checks the path, and names the file`, async () => {
      world = await createWorld();
      const le = join(world.dir, 'le');
      const webroot = join(world.dir, 'www');
      mkdirSync(webroot, { mode: 0o755 });
      writeCertbotLineage(le, 'example.com', leaf);
      mkdirSync(join(le, 'renewal'), { recursive: true, mode: 0o755 });
      writeFileSync(
        join(le, 'renewal', 'example.com.conf'),
        `version = 5.1.0\n[renewalparams]\nauthenticator = webroot\nwebroot_path = ${webroot},\n[[webroot_map]]\n`,
        { mode: 0o644 },
      );
      const edge = await FakeHttpEdge.start({ webroot: () => webroot, modes: {} });
      try {
        mkdirSync(world.stateDir, { recursive: true, mode: 0o700 });
        const path = join(world.stateDir, 'renewal-paths.json');
        plant(path, 64 * 1024 * 1024 + 1);
        const result = await runTimed(
          ['canary', '--live-dir', join(le, 'live')],
          { ...world.env, INCAP_CERT_EDGE_HTTP: edge.address },
          { boundMs: 30_000 },
        );
        assert.equal(result.killed, false, `the canary hung on ${title}:\n${result.stderr}`);
        assert.ok(result.ms < 15_000, `the canary took ${result.ms} ms on ${title}`);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, /renewal path of example\.com \(lineage example\.com\): pass/);
        assert.ok(result.stderr.includes(path), `the file is named:\n${result.stderr}`);
      } finally {
        await edge.close();
      }
    });
  }
});

describe('temp files killed writes left in queue.d', () => {
  it('are removed only when their writer is provably gone: not one in another PID namespace, not a live one', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const dropDir = join(world.stateDir, 'queue.d');
    mkdirSync(dropDir, { recursive: true, mode: 0o700 });
    const ns = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '';
    const start = startOf(process.pid);
    // queue.d is written without the lock, by runs on this host and in containers sharing the folder.
    const dead = `.queue.999999999-1-${ns}.0a0b.tmp`;
    const reused = `.queue.${process.pid}-1-${ns}.0c0d.tmp`;
    const alive = `.queue.${process.pid}-${start}-${ns}.0e0f.tmp`;
    const elsewhere = `.queue.57-1-1.0f0f.tmp`;
    for (const name of [dead, reused, alive, elsewhere]) {
      writeFileSync(join(dropDir, name), '{"version"', { mode: 0o600 });
    }
    // One site fails: the run records it under the queue lock, and clears what it may in queue.d.
    world.fake.inject({ endpoint: 'upload', siteId: '7654321', times: Infinity, fault: { status: 503 } });
    const result = await runTimed(
      ['deploy'],
      { ...world.env, RENEWED_LINEAGE: lineage },
      { boundMs: 30_000 },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.ok(existsSync(world.queueFile), 'the run held the lock');
    assert.deepEqual(
      readdirSync(dropDir)
        .filter((name) => name.endsWith('.tmp'))
        .sort(),
      [elsewhere, alive].sort(),
      'a dead writer’s and a reused pid’s are removed; a live one’s and a container’s are left',
    );
  });
});
