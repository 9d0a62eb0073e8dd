/**
 * The state folder on a full disk (a 16 KiB tmpfs, filled). The uploads stand and the exit code says so;
 * nothing can be recorded, and one line says that — but no run may leave temporary files behind: each would add
 * one (the lock's and the queue's), none would ever go, and the disk would stay full after it was cleaned.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runCli, tempDir, writeConfig } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { API_ID, createWorld, type World } from '../support/world.js';

let leaf: Leaf;
let world: World | undefined;
let mounted: string | undefined;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com', 'www.example.com'] });
});
afterEach(() => world?.close());
after(() => {
  if (mounted !== undefined) execFileSync('umount', [mounted]);
});

/** A 16 KiB tmpfs, or undefined where mounting is not allowed (not root, no tmpfs). */
function smallDisk(): string | undefined {
  const dir = tempDir();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  mounted = dir;
  return dir;
}

/** Every file under `dir` whose name says it is temporary. */
function temporaries(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.tmp'));
}

describe('a state folder on a full disk', () => {
  it('each run says nothing could be recorded and leaves no temporary file; once there is room, the failure is queued', async (t) => {
    const disk = smallDisk();
    if (disk === undefined) return t.skip('cannot mount a tmpfs here');
    world = await createWorld();
    const stateDir = join(disk, 'state');
    writeConfig(world.dir, {
      api: { id: API_ID, key: world.apiKey, baseUrl: world.fake.url },
      sites: { 'example.com': 1234567, 'www.example.com': 7654321 },
      stateDir,
      retryDelaySeconds: 0.01,
    });
    world.fake.inject({
      endpoint: 'upload',
      siteId: '7654321',
      times: Infinity,
      fault: { status: 500, body: '<html>down</html>' },
    });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    mkdirSync(stateDir, { mode: 0o700 });
    const filler = join(disk, 'filler');
    assert.throws(() => writeFileSync(filler, Buffer.alloc(64 * 1024)), /ENOSPC/, 'the disk is full');

    for (let run = 1; run <= 3; run += 1) {
      const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
      assert.equal(result.code, 1, result.stderr);
      assert.match(
        result.stderr,
        /^error: cannot update the retry queue in .* \(ENOSPC\); the uploads above stand, but failures were not queued for sync$/m,
      );
      assert.deepEqual(temporaries(stateDir), [], `run ${run} left temporary files`);
      assert.equal(existsSync(join(stateDir, 'queue.lock')), false, `run ${run} left the lock`);
    }
    assert.equal(world.fake.acceptedUploads().length, 3, 'the good site got its certificate every time');

    rmSync(filler);
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 1, result.stderr);
    assert.doesNotMatch(result.stderr, /cannot update the retry queue/);
    assert.ok(existsSync(join(stateDir, 'queue.json')), 'queued once there is room');
  });
});
