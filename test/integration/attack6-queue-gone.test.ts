/**
 * A queued entry whose source is gone for good (`certbot delete`, a renamed lineage, the files push named removed)
 * is dropped with one warning, not owed for ever: kept, it failed every sync with exit 3, the timer's run included.
 * A source whose folder is missing too (an unmounted /etc/letsencrypt) may come back, and stays owed.
 */
import assert from 'node:assert/strict';
import { renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, before, describe, it } from 'node:test';
import { runCli, tempDir } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { queuedFilesPush, queuedSites, queueEntry, writeQueue } from '../support/queued.js';
import { createWorld, type World } from '../support/world.js';

let both: Leaf;
before(async () => {
  both = await issueLeaf(await createPki(), { names: ['example.com', 'www.example.com'] });
});
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

/** sync from an empty live folder: only the queue says what is owed. */
const syncQueueOnly = (w: World) => runCli(['sync', '--live-dir', tempDir()], w.env);

async function queuedLineage(): Promise<{ w: World; le: string; lineage: string }> {
  world = await createWorld();
  const le = join(world.dir, 'le');
  const lineage = writeCertbotLineage(le, 'example.com', both);
  writeQueue(world.stateDir, [
    queueEntry({ siteId: '7654321', names: ['www.example.com'], lineage, fingerprint: both.fingerprint }),
  ]);
  return { w: world, le, lineage };
}

function assertDropped(result: { code: number | null; stderr: string }, gone: string, w: World): void {
  assert.doesNotMatch(result.stderr, /^error: /m, result.stderr);
  assert.notEqual(result.code, 3, result.stderr);
  const lines = result.stderr.split('\n').filter((line) => / queued, but /.test(line));
  assert.equal(lines.length, 1, result.stderr);
  assert.match(
    lines[0] ?? '',
    new RegExp(
      `^warning: site 7654321 \\(ECDSA, www\\.example\\.com\\): queued, but ${gone} no longer exists \\(.*\\); dropped the entry without uploading$`,
    ),
  );
  assert.deepEqual(queuedSites(w.stateDir), []);
  assert.deepEqual(w.fake.uploads(), []);
}

describe('a queued entry whose source is gone for good', () => {
  it('its lineage deleted (certbot delete): dropped with one warning; the next sync is quiet', async () => {
    const { w, le, lineage } = await queuedLineage();
    rmSync(lineage, { recursive: true });
    rmSync(join(le, 'archive', 'example.com'), { recursive: true });
    assertDropped(await syncQueueOnly(w), '.*/live/example\\.com', w);
    const again = await syncQueueOnly(w);
    assert.doesNotMatch(again.stderr, /queued, but/);
  });

  it('its lineage renamed: dropped with one warning', async () => {
    const { w, le, lineage } = await queuedLineage();
    renameSync(lineage, join(le, 'live', 'example.com-0001'));
    assertDropped(await syncQueueOnly(w), '.*/live/example\\.com', w);
  });

  it('the files push --cert/--key --site-id named, removed: dropped with one warning', async () => {
    world = await createWorld({ map: {} });
    const { cert, key } = queuedFilesPush(world, {
      siteId: '7654321',
      names: ['www.example.com'],
      recorded: both,
      written: both,
    });
    rmSync(cert);
    rmSync(key);
    assertDropped(await syncQueueOnly(world), '.*/files/cert\\.pem', world);
  });

  it('its whole config folder missing (unmounted): an error naming it, exit 3, and the entry stays owed', async () => {
    const { w, le } = await queuedLineage();
    renameSync(le, `${le}-unmounted`);
    const result = await syncQueueOnly(w);
    assert.equal(result.code, 3, result.stderr);
    assert.match(
      result.stderr,
      /^error: site 7654321 \(www\.example\.com\): queued, but lineage folder .*\/le\/live\/example\.com does not exist or is not a folder$/m,
    );
    assert.deepEqual(queuedSites(w.stateDir), ['7654321/ECC']);
    // stdout does not contradict the error: something is queued, it just cannot be delivered now.
    assert.doesNotMatch(result.stdout, /nothing queued;/, result.stdout);
    assert.match(result.stdout, /nothing queued that can be delivered; nothing to upload/, result.stdout);
  });
});
