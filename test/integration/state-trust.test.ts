/**
 * The retry queue is trusted only where root alone could have written it, and is delivered only where the map (or
 * an explicit push --site-id) still sends it.
 */
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runCli, tempDir, writeConfig } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { API_ID, assertOneLineError, createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
});
let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

const QUEUED = (
  siteId: string,
  source: { cert: string; key: string },
  explicit = false,
  fingerprint = 'ab'.repeat(32),
) =>
  JSON.stringify({
    version: 2,
    entries: [
      {
        siteId,
        authType: 'ECC',
        names: ['example.com'],
        source,
        fingerprint,
        notAfter: '2027-01-01T00:00:00.000Z',
        state: 'failed',
        explicit,
        since: '2026-11-20T00:00:00.000Z',
        lastError: 'HTTP 503',
        attempts: 4,
        firstFailure: '2026-11-20T00:00:00.000Z',
        lastFailure: '2026-11-20T00:00:00.000Z',
      },
    ],
  });

const unsafe: [string, (dir: string) => void, RegExp][] = [
  ['writable by others', (dir) => chmodSync(dir, 0o777), /writable by group or others \(mode 0777\)/],
  ['writable by group', (dir) => chmodSync(dir, 0o770), /writable by group or others \(mode 0770\)/],
  ['owned by another user', (dir) => chownSync(dir, 1000, 1000), /is owned by user 1000/],
];

describe('a state folder others could have written', () => {
  for (const [title, spoil, reason] of unsafe) {
    it(`${title}: sync and status exit 2 naming it; nothing is read or sent`, async () => {
      world = await createWorld();
      const live = join(world.dir, 'le');
      const lineage = writeCertbotLineage(live, 'example.com', leaf);
      mkdirSync(world.stateDir, { recursive: true, mode: 0o700 });
      const planted = QUEUED('1234567', {
        cert: join(lineage, 'fullchain.pem'),
        key: join(lineage, 'privkey.pem'),
      });
      writeFileSync(world.queueFile, planted, { mode: 0o600 });
      spoil(world.stateDir);
      for (const command of ['sync', 'status']) {
        const result = await runCli([command, '--live-dir', live], world.env);
        assert.equal(result.code, 2, `${command}: ${result.stderr}`);
        assertOneLineError(
          result.stderr,
          new RegExp(`^error: not using the retry queue in ${world.stateDir}: .*`),
        );
        assert.match(result.stderr, reason);
      }
      assert.equal(world.fake.requests.length, 0, 'nothing sent');
      assert.equal(readFileSync(world.queueFile, 'utf8'), planted, 'nothing written');
    });

    it(`${title}: deploy still uploads and says in one line that nothing could be recorded`, async () => {
      world = await createWorld();
      const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
      mkdirSync(world.stateDir, { recursive: true, mode: 0o700 });
      spoil(world.stateDir);
      const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(world.fake.serving('1234567')?.fingerprint, leaf.fingerprint);
      assertOneLineError(
        result.stderr,
        new RegExp(
          `^error: not using the retry queue in ${world.stateDir}: .*nothing could be recorded for sync$`,
        ),
      );
      assert.equal(existsSync(world.queueFile), false);
      assert.equal(existsSync(join(world.stateDir, 'queue.d')), false, 'no intent written there');
    });
  }

  it('a state folder inside a sticky folder such as /tmp is fine: its own mode is what counts', async () => {
    world = await createWorld({ sites: {} });
    const sticky = join(tempDir(), 'sticky');
    mkdirSync(sticky, { mode: 0o1777 });
    chmodSync(sticky, 0o1777);
    const stateDir = join(sticky, 'state');
    writeConfig(world.dir, {
      api: { id: API_ID, key: world.apiKey, baseUrl: world.fake.url },
      sites: { 'example.com': 1234567 },
      stateDir,
      retryDelaySeconds: 0.01,
    });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    assert.equal((await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage })).code, 1, 'queued');
    const result = await runCli(['status', '--live-dir', join(world.dir, 'le', 'live')], world.env);
    assert.equal(result.code, 1, 'behind, and queued');
    assert.doesNotMatch(result.stderr, /not using the retry queue/);
    assert.match(result.stdout, /^1234567 .* 1 attempt since /m);
  });

  it('a sticky state folder writable by others is refused all the same: others could plant entries in it', async () => {
    world = await createWorld();
    mkdirSync(world.stateDir, { recursive: true, mode: 0o1777 });
    chmodSync(world.stateDir, 0o1777);
    const result = await runCli(['sync', '--live-dir', tempDir()], world.env);
    assert.equal(result.code, 2);
    assertOneLineError(result.stderr, /^error: not using the retry queue in .*\(mode 1777\)/);
  });
});

describe('a queued entry the map no longer sends to that site', () => {
  it('is dropped by sync with one warning, never uploaded', async () => {
    world = await createWorld({ sites: { '7654321': 'example.com' }, map: { 'example.com': 7654321 } });
    const lineage = writeCertbotLineage(join(world.dir, 'elsewhere'), 'example.com', leaf);
    mkdirSync(world.stateDir, { recursive: true, mode: 0o700 });
    // Queued for 1234567, a wrong id the operator has since replaced by 7654321 in the map.
    writeFileSync(
      world.queueFile,
      QUEUED('1234567', { cert: join(lineage, 'fullchain.pem'), key: join(lineage, 'privkey.pem') }),
      { mode: 0o600 },
    );
    // The live certificate now goes to the corrected site.
    writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const result = await runCli(['sync', '--live-dir', join(world.dir, 'le', 'live')], world.env);
    assert.equal(result.code, 0, result.stderr);
    assertOneLineError(
      result.stderr,
      /^warning: site 1234567 \(ECDSA, example\.com\): queued, but the map no longer assigns it to the names of the certificate now at .*fullchain\.pem \(example\.com\); dropped the entry without uploading$/,
    );
    assert.deepEqual(
      world.fake.uploads().map((upload) => upload.siteId),
      ['7654321'],
      'never the old id',
    );
    assert.deepEqual(
      (JSON.parse(readFileSync(world.queueFile, 'utf8')) as { entries: unknown[] }).entries,
      [],
    );
  });

  it('is delivered when push --site-id named the site explicitly', async () => {
    world = await createWorld({ map: {} });
    const lineage = writeCertbotLineage(join(world.dir, 'elsewhere'), 'example.com', leaf);
    mkdirSync(world.stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(
      world.queueFile,
      // push --cert/--key --site-id records the certificate it was named for.
      QUEUED(
        '1234567',
        { cert: join(lineage, 'fullchain.pem'), key: join(lineage, 'privkey.pem') },
        true,
        leaf.fingerprint,
      ),
      { mode: 0o600 },
    );
    const result = await runCli(['sync', '--live-dir', tempDir()], world.env);
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      world.fake.uploads().map((upload) => upload.siteId),
      ['1234567'],
    );
  });
});
