/**
 * Issue 22, "a storm is paced": the hooks of one ACME client run (an ARI storm, --force-renewal) share the pace
 * Imperva allowed through stateDir/pace.json; a hook defers what that pace cannot fit before its deadline (exit 0,
 * one line) and the timer's run delivers it. Through the built CLI, hook after hook, against a paced fake.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, type Leaf } from '../support/pki.js';
import { writePace } from '../support/shared-pace.js';
import { createSyncWorld } from '../support/sync-world.js';
import type { World } from '../support/world.js';

const SITES = Array.from({ length: 20 }, (_, index) => String(3000 + index));
/** A hook's uploads end a fifth before its deadline (src/config/deadline.ts): 4 s of uploads. */
const CONFIG = { hookDeadlineSeconds: 5, deadlineSeconds: 120 };
const DEFERRED =
  /^(\d+) sites? deferred to the timer's run \(incap-cert sync\): Imperva's pace left no room/m;

let leaf: Leaf;
const worlds: World[] = [];
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
});
after(() => Promise.all(worlds.map((world) => world.close())));

async function setup(config: Record<string, unknown> = {}) {
  const made = await createSyncWorld(SITES, leaf, { ...CONFIG, ...config });
  worlds.push(made.world);
  mkdirSync(made.world.stateDir, { recursive: true, mode: 0o700 });
  const paceFile = join(made.world.stateDir, 'pace.json');
  const hook = () => runCli(['deploy'], { ...made.world.env, RENEWED_LINEAGE: made.lineage });
  const sharePace = (perSecond: number, agoMs: number) => writePace(made.world.stateDir, perSecond, agoMs);
  const delivered = () => new Set(made.world.fake.acceptedUploads().map((one) => one.siteId));
  return { ...made, paceFile, hook, sharePace, delivered };
}

describe('hooks in a storm share the pace', () => {
  // Nothing shows Imperva sending Retry-After with its 429 (docs/imperva-api.md): paced alike with it and without.
  for (const retryAfter of [true, false])
    it(`the second hook starts at the pace the first learned (no new 429s), each defers the rest, sync delivers it (429 ${retryAfter ? 'with' : 'without'} Retry-After)`, async () => {
      const { world, hook, paceFile, queued, ran, delivered } = await setup();
      world.fake.setRateLimit({ perSecond: 3, burst: 3, retryAfter });

      const first = await hook();
      assert.equal(first.code, 0, first.stderr);
      assert.ok(world.fake.throttled > 0, 'the fake never throttled the first hook');
      const firstDeferred = Number(DEFERRED.exec(first.stdout)?.[1]);
      assert.ok(firstDeferred > 0, first.stdout);
      assert.equal(first.stdout.match(/deferred/g)?.length, 1, first.stdout);
      assert.equal(ran(), false, 'onFailure ran for sites that were only deferred');
      assert.equal(queued().filter((entry) => entry.state === 'deferred').length, firstDeferred);
      const shared = JSON.parse(readFileSync(paceFile, 'utf8')) as { perSecond: number; at: string };
      assert.ok(shared.perSecond >= 0.5 && shared.perSecond <= 6, `learned ${shared.perSecond}/s`);
      assert.ok(Math.abs(Date.now() - Date.parse(shared.at)) < 60_000, shared.at);

      // The bucket refills between hooks, as while Certbot renews the next lineage.
      world.fake.setRateLimit({ perSecond: 3, burst: 3, retryAfter });
      const throttledBefore = world.fake.throttled;
      const uploadsBefore = world.fake.uploads().length;
      const second = await hook();
      assert.equal(second.code, 0, second.stderr);
      assert.equal(world.fake.throttled - throttledBefore, 0, 'the second hook burst into 429s again');
      assert.ok(world.fake.uploads().length - uploadsBefore >= 3, 'the second hook sent almost nothing');
      assert.match(second.stdout, DEFERRED);
      assert.equal(ran(), false);

      const sync = await runCli(['sync'], world.env);
      assert.equal(sync.code, 0, sync.stderr);
      assert.match(sync.stdout, /^sync: \d+ current, \d+ uploaded, 0 failed$/m);
      assert.deepEqual([...delivered()].sort(), SITES);
      assert.deepEqual(queued(), []);
      assert.equal(ran(), false);
    });

  it('a shared pace is followed for 10 minutes after its 429, and not after', async () => {
    const fresh = await setup();
    fresh.sharePace(0.5, 60_000);
    const slow = await fresh.hook();
    assert.equal(slow.code, 0, slow.stderr);
    // 0.5 requests/s: a slot of 2 s each in 4 s of uploads.
    assert.ok(fresh.world.fake.uploads().length <= 3, `${fresh.world.fake.uploads().length} uploads`);
    assert.equal(Number(DEFERRED.exec(slow.stdout)?.[1]), SITES.length - fresh.world.fake.uploads().length);
    assert.equal(fresh.ran(), false);

    const stale = await setup();
    stale.sharePace(0.5, 11 * 60_000);
    const fast = await stale.hook();
    assert.equal(fast.code, 0, fast.stderr);
    assert.equal(stale.world.fake.uploads().length, SITES.length);
    assert.doesNotMatch(fast.stdout, /deferred/);
  });

  it('a site deferred past the deferral limit fails (exit 1, onFailure); the others stay deferred', async () => {
    const { hook, sharePace, rewrite, queued, ran } = await setup();
    sharePace(0.5, 60_000);
    assert.equal((await hook()).code, 0);
    const since = new Date(Date.now() - 2 * 86_400_000).toISOString();
    rewrite((entry) => {
      if (entry.siteId === SITES[SITES.length - 1]) entry.unreachedSince = since;
    });
    const late = await hook();
    assert.equal(late.code, 1, late.stderr);
    assert.match(
      late.stderr,
      new RegExp(
        `^error: site ${SITES[SITES.length - 1]} \\(example\\.com\\): deferred by every sync since ${since}; `,
        'm',
      ),
    );
    assert.equal(ran(), true, 'onFailure did not run');
    const states = new Map(queued().map((entry) => [entry.siteId, entry.state]));
    assert.equal(states.get(SITES[SITES.length - 1] ?? ''), 'failed');
    assert.equal(states.get(SITES[SITES.length - 2] ?? ''), 'deferred');
  });
});

describe('a state folder others can write', () => {
  it('its pace.json is neither followed nor written; the uploads happen', async () => {
    const { world, hook, sharePace, paceFile, delivered } = await setup();
    sharePace(0.5, 60_000);
    const before = readFileSync(paceFile, 'utf8');
    chmodSync(world.stateDir, 0o777);
    const result = await hook();
    // Followed, 0.5 requests/s would have fitted two or three uploads in the hook.
    assert.deepEqual([...delivered()].sort(), SITES);
    assert.doesNotMatch(result.stdout, /deferred/);
    assert.match(result.stderr, new RegExp(`${world.stateDir}.*writable`));
    assert.equal(readFileSync(paceFile, 'utf8'), before);
  });
});

describe('sync shares the pace too', () => {
  it('sync starts at a fresh shared pace (and defers what it cannot fit), and writes back what it learns', async () => {
    const slow = await setup({ deadlineSeconds: 5 });
    slow.sharePace(0.5, 60_000);
    const deferring = await runCli(['sync'], slow.world.env);
    assert.equal(deferring.code, 0, deferring.stderr);
    // 0.5 requests/s in 4 s: the account's listing and an upload or two; the rest waits for the next sync.
    assert.ok(slow.world.fake.requests.length <= 3, `${slow.world.fake.requests.length} requests`);
    const [uploaded, deferred] = (
      /^sync: 0 current, (\d+) uploaded, 0 failed, (\d+) deferred to the next sync/m.exec(deferring.stdout) ??
      []
    )
      .slice(1)
      .map(Number);
    assert.equal((uploaded ?? 0) + (deferred ?? 0), SITES.length, deferring.stdout);
    assert.ok((deferred ?? 0) >= SITES.length - 2, deferring.stdout);

    const paced = await setup();
    paced.world.fake.setRateLimit({ perSecond: 3, burst: 3 });
    const learning = await runCli(['sync'], paced.world.env);
    assert.equal(learning.code, 0, learning.stderr);
    assert.ok(paced.world.fake.throttled > 0, 'the fake never throttled sync');
    const shared = JSON.parse(readFileSync(paced.paceFile, 'utf8')) as { perSecond: number };
    assert.ok(shared.perSecond >= 0.5 && shared.perSecond <= 6, `learned ${shared.perSecond}/s`);
  });
});

describe('an unusable pace.json is set aside and the upload still happens', () => {
  const cases: [string, (file: string) => void, RegExp][] = [
    ['not JSON', (file) => writeFileSync(file, '{"version":1,', { mode: 0o600 }), /corrupt/],
    [
      'not a pace',
      (file) => writeFileSync(file, JSON.stringify({ version: 1, perSecond: -3, at: 'x' }), { mode: 0o600 }),
      /not a shared pace of version 1/,
    ],
    [
      'writable by others',
      (file) => {
        writeFileSync(file, '{}');
        chmodSync(file, 0o666);
      },
      /writable by group or others/,
    ],
    [
      'a symbolic link',
      (file) => {
        writeFileSync(`${file}.real`, '{}', { mode: 0o600 });
        symlinkSync(`${file}.real`, file);
      },
      /symbolic link/,
    ],
    ['too large', (file) => writeFileSync(file, ' '.repeat(8192), { mode: 0o600 }), /larger than/],
  ];
  for (const [what, write, why] of cases) {
    it(what, async () => {
      const { world, hook, paceFile, delivered } = await setup();
      write(paceFile);
      const result = await hook();
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual([...delivered()].sort(), SITES);
      assert.match(
        result.stderr,
        new RegExp(`^warning: shared pace ${paceFile}: .*${why.source}.*; starting unpaced`, 'm'),
      );
      assert.match(
        result.stderr,
        /^warning: shared pace .*pace\.json: .*; kept aside as .*pace\.json\.rejected-/m,
      );
      // Set aside, and nothing followed in its place: this hook learned no pace of its own.
      assert.ok(
        !existsSync(paceFile) ||
          (JSON.parse(readFileSync(paceFile, 'utf8')) as { perSecond?: number }).perSecond === undefined,
        'no pace is kept from the file set aside',
      );
      assert.equal(
        readdirSync(world.stateDir).filter((name) => name.startsWith('pace.json.rejected-')).length,
        1,
      );
    });
  }
});
