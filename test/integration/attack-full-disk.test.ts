/**
 * The new reads of this round (the key's record, Imperva's own certificates, check's wiring) on a host whose state
 * folder and metrics folder sit on a full disk: every command still prints one --json document and its exit code
 * says what is true.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runCli, tempDir, writeConfig } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
let world: World | undefined;
const mounted: string[] = [];
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'], keyType: 'ec' });
});
afterEach(() => world?.close());
after(() => {
  for (const dir of mounted) execFileSync('umount', [dir]);
});

function smallDisk(): string | undefined {
  const dir = tempDir();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  mounted.push(dir);
  return dir;
}

describe('state and metrics on a full disk', () => {
  for (const command of ['status', 'check', 'sync', 'verify', 'queue']) {
    it(`${command} --json: one document, no internal error`, async (t) => {
      const disk = smallDisk();
      if (disk === undefined) return t.skip('cannot mount a tmpfs here');
      world = await createWorld({ sites: { '1234567': 'example.com' }, map: { 'example.com': 1234567 } });
      const config = JSON.parse(readFileSync(world.configFile, 'utf8')) as Record<string, unknown>;
      writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
      const live = join(world.dir, 'le', 'live');
      assert.equal((await runCli(['sync', '--live-dir', live], world.env)).code, 0);
      const stateDir = join(disk, 'state');
      mkdirSync(stateDir, { mode: 0o700 });
      writeConfig(world.dir, {
        ...config,
        stateDir,
        ari: false,
        metricsFile: join(disk, 'incap-cert.prom'),
        logFile: join(disk, 'incap-cert.log'),
      });
      world.fake.keyRecord = 'ok';
      world.fake.keyExpiresAt = Date.now() + 3 * 86_400_000;
      assert.throws(() => writeFileSync(join(disk, 'filler'), Buffer.alloc(64 * 1024)), /ENOSPC/);
      const where = command === 'queue' ? [] : ['--live-dir', live];
      const result = await runCli([command, ...where, '--json'], world.env);
      assert.doesNotMatch(result.stderr, /internal error|^\s+at /m);
      const doc = JSON.parse(result.stdout) as { ok: boolean };
      assert.equal(typeof doc.ok, 'boolean');
      assert.ok([0, 1].includes(result.code ?? -1), `${result.code}: ${result.stderr}`);
    });
  }
});

describe('remove with the state folder on a full disk', () => {
  it('the removal stands and is said; the record that cannot be updated is one line; one --json document', async (t) => {
    const disk = smallDisk();
    if (disk === undefined) return t.skip('cannot mount a tmpfs here');
    world = await createWorld({ sites: { '1234567': 'example.com' }, map: { 'example.com': 1234567 } });
    const config = JSON.parse(readFileSync(world.configFile, 'utf8')) as Record<string, unknown>;
    const stateDir = join(disk, 'state');
    writeConfig(world.dir, { ...config, stateDir, ari: false });
    writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const live = join(world.dir, 'le', 'live');
    assert.equal((await runCli(['sync', '--live-dir', live], world.env)).code, 0);
    const empty = join(world.dir, 'empty-live');
    mkdirSync(empty);
    assert.throws(() => writeFileSync(join(disk, 'filler'), Buffer.alloc(64 * 1024)), /ENOSPC/);
    const result = await runCli(
      ['remove', '--site-id', '1234567', '--auth-type', 'ECC', '--live-dir', empty, '--json'],
      world.env,
    );
    assert.doesNotMatch(result.stderr, /internal error|^\s+at /m);
    JSON.parse(result.stdout);
    assert.equal(world.fake.acceptedRemovals().length, 1, result.stderr);
    assert.ok([0, 1].includes(result.code ?? -1), `${result.code}: ${result.stderr}`);
  });
});
