/**
 * The retry queue's `queue.d/` (changes written aside, merged as they are, explicit entries included) is
 * trusted like the state folder. A queue.d that another user owns, that others can write, or that is a symbolic
 * link to such a folder could plant an entry that uploads any key root can read to any site the API key reaches.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  lchownSync,
  mkdirSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runCli, tempDir, writeConfig } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { API_ID, assertOneLineError, createWorld, type World } from '../support/world.js';

let leaf: Leaf;
let other: Leaf;
before(async () => {
  const pki = await createPki();
  leaf = await issueLeaf(pki, { names: ['example.com'] });
  other = await issueLeaf(pki, { names: ['secret.example.net'] });
});
let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

/** An entry naming a site the map does not have, marked as if `push --site-id` had named it. */
function planted(lineage: string): string {
  return JSON.stringify({
    version: 2,
    entries: [
      {
        siteId: '999',
        authType: 'ECC',
        names: ['victim.example'],
        source: { lineage, cert: join(lineage, 'fullchain.pem'), key: join(lineage, 'privkey.pem') },
        fingerprint: 'ab',
        notAfter: '2027-01-01T00:00:00.000Z',
        state: 'failed',
        explicit: true,
        since: '2026-11-20T00:00:00.000Z',
        lastError: '',
        attempts: 1,
      },
    ],
  });
}

const spoilers: [string, (stateDir: string) => string, RegExp][] = [
  [
    'owned by another user',
    (stateDir) => {
      const dir = join(stateDir, 'queue.d');
      mkdirSync(dir, { mode: 0o700 });
      chownSync(dir, 1000, 1000);
      return dir;
    },
    /queue\.d is owned by user 1000/,
  ],
  [
    'writable by others',
    (stateDir) => {
      const dir = join(stateDir, 'queue.d');
      mkdirSync(dir);
      chmodSync(dir, 0o777);
      return dir;
    },
    /queue\.d is writable by group or others \(mode 0777\)/,
  ],
  [
    'a symbolic link to a folder another user owns',
    (stateDir) => {
      const dir = join(tempDir(), 'theirs');
      mkdirSync(dir, { mode: 0o755 });
      chownSync(dir, 1000, 1000);
      symlinkSync(dir, join(stateDir, 'queue.d'));
      return dir;
    },
    /theirs is owned by user 1000/,
  ],
];

describe('a queue.d that others could have written', () => {
  for (const [title, spoil, reason] of spoilers) {
    it(`${title}: sync exits 2 naming it and uploads nothing it holds`, async () => {
      world = await createWorld({ sites: { '1234567': 'example.com', '999': 'victim.example' } });
      const live = join(world.dir, 'le');
      writeCertbotLineage(live, 'example.com', leaf);
      const theirs = writeCertbotLineage(join(world.dir, 'other'), 'secret.example.net', other);
      mkdirSync(world.stateDir, { mode: 0o755 });
      const pending = spoil(world.stateDir);
      writeFileSync(join(pending, 'planted.json'), planted(theirs));
      const result = await runCli(['sync', '--live-dir', join(live, 'live')], world.env);
      assert.equal(result.code, 2, result.stderr);
      assertOneLineError(result.stderr, /^error: not using the retry queue in .*/);
      assert.match(result.stderr, reason);
      assert.deepEqual(world.fake.uploads(), [], 'nothing uploaded');
      assert.deepEqual(readdirSync(pending), ['planted.json'], 'nothing merged or removed');
    });

    it(`${title}: deploy still uploads its own certificate and merges nothing planted`, async () => {
      world = await createWorld({ sites: { '1234567': 'example.com', '999': 'victim.example' } });
      const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
      const theirs = writeCertbotLineage(join(world.dir, 'other'), 'secret.example.net', other);
      mkdirSync(world.stateDir, { mode: 0o755 });
      const pending = spoil(world.stateDir);
      writeFileSync(join(pending, 'planted.json'), planted(theirs));
      const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(
        world.fake.uploads().map((upload) => upload.siteId),
        ['1234567'],
      );
      assertOneLineError(result.stderr, /^error: not using the retry queue in .*nothing could be recorded/);
      assert.deepEqual(readdirSync(pending), ['planted.json']);
    });
  }
});

describe('a state folder that is a symbolic link someone else planted', () => {
  it('a link owned by another user in a sticky folder such as /tmp is refused, though it points at a root folder', async () => {
    world = await createWorld();
    const sticky = join(tempDir(), 'sticky');
    mkdirSync(sticky);
    chmodSync(sticky, 0o1777);
    const target = join(tempDir(), 'root-only');
    mkdirSync(target, { mode: 0o755 });
    const stateDir = join(sticky, 'state');
    symlinkSync(target, stateDir);
    lchownSync(stateDir, 1000, 1000);
    writeConfig(world.dir, {
      api: { id: API_ID, key: world.apiKey, baseUrl: world.fake.url },
      sites: { 'example.com': 1234567 },
      stateDir,
      retryDelaySeconds: 0.01,
    });
    world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { status: 500 } });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 1, result.stderr);
    assert.equal(world.fake.uploads().length, 4, 'still tried');
    assert.match(
      result.stderr,
      new RegExp(`^error: not using the retry queue in ${stateDir}: .*symbolic link owned by user 1000`, 'm'),
    );
    assert.deepEqual(readdirSync(target), [], 'nothing written where the link points');
    const sync = await runCli(['sync', '--live-dir', tempDir()], world.env);
    assert.equal(sync.code, 2, sync.stderr);
    assertOneLineError(sync.stderr, /symbolic link owned by user 1000/);
  });

  it('a link root made in a folder root owns still works', async () => {
    world = await createWorld();
    const target = join(tempDir(), 'real-state');
    mkdirSync(target, { mode: 0o700 });
    const stateDir = join(world.dir, 'state-link');
    symlinkSync(target, stateDir);
    writeConfig(world.dir, {
      api: { id: API_ID, key: world.apiKey, baseUrl: world.fake.url },
      sites: { 'example.com': 1234567 },
      stateDir,
      retryDelaySeconds: 0.01,
    });
    world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { status: 500 } });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 1, result.stderr);
    assert.doesNotMatch(result.stderr, /not using the retry queue/);
    assert.ok(readdirSync(target).includes('queue.json'), 'the queue is kept where the link points');
  });
});
