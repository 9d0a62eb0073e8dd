/**
 * A queue entry is a promise about content: sync reads its source afresh and delivers it only where that content
 * goes now. And every file in queue.d gets queue.json's care: regular files only, the same trust rule, a size bound,
 * anything refused kept aside and reported, nothing able to stop the rest of the queue.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runCli, tempDir } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf, type Pki } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';
import { queuedFilesPush, queuedSites, queueEntry, queueText, writeQueue } from '../support/queued.js';

let pki: Pki;
let both: Leaf;
let apexOnly: Leaf;
let apexRsa: Leaf;
before(async () => {
  pki = await createPki();
  both = await issueLeaf(pki, { names: ['example.com', 'www.example.com'] });
  apexOnly = await issueLeaf(pki, { names: ['example.com'] });
  apexRsa = await issueLeaf(pki, { names: ['example.com'], keyType: 'rsa' });
});
let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

/** sync from an empty live folder: only the queue says what is owed. */
function syncQueueOnly(): ReturnType<typeof runCli> {
  return runCli(['sync', '--live-dir', tempDir()], (world as World).env);
}

/** The lines about queued entries (the live folder is empty on purpose: its own warnings are not counted). */
function warnings(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('warning: ') && /queue/.test(line));
}

/**
 * The run went through: exit 0, or 1 only for mapped sites that no certificate on this host covers (the queue-only
 * worlds leave some uncovered on purpose), and no error.
 */
function assertRan(result: { code: number | null; stderr: string }): void {
  assert.doesNotMatch(result.stderr, /^error: /m, result.stderr);
  if (result.code === 0) return;
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, /nothing keeps it current|sites are mapped: is liveDir right/);
}

describe('a queued entry is delivered only while its source holds what it promised', () => {
  it('a lineage re-issued without a name sends nothing to the dropped name’s site', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', both);
    writeQueue(world.stateDir, [
      queueEntry({ siteId: '7654321', names: ['www.example.com'], lineage, fingerprint: both.fingerprint }),
    ]);
    // Certbot re-issues the lineage without www.example.com.
    writeCertbotLineage(join(world.dir, 'le'), 'example.com', apexOnly, 2);
    const result = await syncQueueOnly();
    assertRan(result);
    assert.deepEqual(world.fake.uploads(), [], 'no certificate or key for the dropped name’s site');
    assert.equal(warnings(result.stderr).length, 1, result.stderr);
    assert.match(
      result.stderr,
      /^warning: site 7654321 \(ECDSA, www\.example\.com\): queued, but the map no longer assigns it to the names of the certificate now at .*live\/example\.com \(example\.com\); dropped the entry without uploading$/m,
    );
    assert.deepEqual(queuedSites(world.stateDir), []);
  });

  it('a lineage re-issued with the name still goes to the site, with the certificate it holds now', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', apexOnly);
    writeQueue(world.stateDir, [queueEntry({ siteId: '1234567', names: ['example.com'], lineage })]);
    writeCertbotLineage(join(world.dir, 'le'), 'example.com', both, 2);
    const result = await syncQueueOnly();
    assertRan(result);
    assert.deepEqual(
      world.fake.uploads().map((upload) => upload.siteId),
      ['1234567'],
    );
    assert.deepEqual(queuedSites(world.stateDir), []);
  });

  it('push --site-id of a lineage: dropped once the certificate no longer covers the names recorded', async () => {
    world = await createWorld({ map: {} });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', both);
    writeQueue(world.stateDir, [
      queueEntry({ siteId: '7654321', names: ['example.com', 'www.example.com'], lineage, explicit: true }),
    ]);
    writeCertbotLineage(join(world.dir, 'le'), 'example.com', apexOnly, 2);
    const result = await syncQueueOnly();
    assertRan(result);
    assert.deepEqual(world.fake.uploads(), []);
    assert.match(result.stderr, /^warning: site 7654321 .*no longer covers www\.example\.com; dropped/m);
    assert.deepEqual(queuedSites(world.stateDir), []);
  });

  it('push --cert/--key --site-id: dropped when the files now hold another certificate', async () => {
    world = await createWorld({ map: {} });
    const { cert, key } = queuedFilesPush(world, {
      siteId: '1234567',
      names: ['example.com', 'www.example.com'],
      recorded: both,
    });
    // The files were named for that site with `both`; they now hold another certificate and its key.
    writeFileSync(cert, apexOnly.fullchainPem);
    writeFileSync(key, apexOnly.keyPem, { mode: 0o600 });
    const result = await syncQueueOnly();
    assertRan(result);
    assert.deepEqual(world.fake.uploads(), [], 'never a key the push did not name for that site');
    assert.equal(warnings(result.stderr).length, 1, result.stderr);
    assert.match(
      result.stderr,
      /^warning: site 1234567 .*cert\.pem now holds another certificate than the one push named this site for; dropped/m,
    );
    assert.deepEqual(queuedSites(world.stateDir), []);
  });

  it('push --cert/--key --site-id: delivered while the files hold the certificate recorded', async () => {
    world = await createWorld({ map: {} });
    queuedFilesPush(world, { siteId: '1234567', names: ['example.com'], recorded: both, written: both });
    const result = await syncQueueOnly();
    assertRan(result);
    assert.deepEqual(
      world.fake.uploads().map((upload) => upload.siteId),
      ['1234567'],
    );
    assert.deepEqual(queuedSites(world.stateDir), []);
  });

  it('push --cert/--key --site-id: refused, kept and said when another user could write its files now', async () => {
    world = await createWorld({ map: {} });
    const { dir } = queuedFilesPush(world, {
      siteId: '1234567',
      names: ['example.com'],
      recorded: both,
      written: both,
    });
    // push judged these files when it ran; since then anyone may replace them (the same certificate, for now).
    chmodSync(dir, 0o777);
    const result = await syncQueueOnly();
    assert.equal(result.code, 3, result.stderr);
    assert.match(
      result.stderr,
      /^error: site 1234567 \(example\.com\): queued, but certificate .*cert\.pem is refused: /m,
    );
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(world.fake.uploads(), [], 'nothing uploaded from files another user could have written');
    assert.deepEqual(queuedSites(world.stateDir), ['1234567/ECC'], 'the entry stays owed');
  });

  it('a key-type switch: the old type’s entry is dropped with one warning, not owed for ever', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', apexRsa);
    writeQueue(world.stateDir, [
      queueEntry({ siteId: '1234567', names: ['example.com'], lineage, authType: 'RSA' }),
    ]);
    // Certbot re-issues the lineage with an ECDSA key.
    writeCertbotLineage(join(world.dir, 'le'), 'example.com', apexOnly, 2);
    const first = await runCli(['sync', '--live-dir', join(world.dir, 'le', 'live')], world.env);
    assertRan(first);
    assert.match(
      first.stderr,
      /^warning: site 1234567 \(RSA, example\.com\): queued, but .*live\/example\.com now holds an ECDSA certificate, not the RSA one queued; dropped/m,
    );
    assert.deepEqual(
      world.fake.uploads().map((upload) => upload.siteId),
      ['1234567'],
      'the ECC certificate, once',
    );
    assert.deepEqual(queuedSites(world.stateDir), []);
    const second = await runCli(['sync', '--live-dir', join(world.dir, 'le', 'live')], world.env);
    assertRan(second);
    assert.deepEqual(warnings(second.stderr), [], 'nothing owed any more');
  });
});

describe('queue.d gets queue.json’s care', () => {
  /** A world with one valid change in queue.d (site 1234567, owed example.com), and what spoils the folder. */
  async function withValidChange(): Promise<{ dropDir: string }> {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', apexOnly);
    const dropDir = join(world.stateDir, 'queue.d');
    mkdirSync(dropDir, { recursive: true, mode: 0o700 });
    chmodSync(world.stateDir, 0o700);
    writeFileSync(
      join(dropDir, '2026-11-20T00-00-00-000Z-1-aaaa.json'),
      queueText([queueEntry({ siteId: '1234567', names: ['example.com'], lineage })]),
      { mode: 0o600 },
    );
    return { dropDir };
  }

  /** Sync delivers the valid change, keeps `spoiled` aside as NAME.rejected and says so once. */
  async function assertSetAside(dropDir: string, spoiled: string, why: RegExp): Promise<void> {
    const result = await syncQueueOnly();
    assertRan(result);
    assert.deepEqual(
      (world as World).fake.uploads().map((upload) => upload.siteId),
      ['1234567'],
      'the rest of the queue is delivered',
    );
    assert.match(result.stderr, why);
    assert.match(
      result.stderr,
      new RegExp(`kept aside as .*${spoiled.replaceAll('.', '\\.')}\\.rejected$`, 'm'),
    );
    assert.deepEqual(readdirSync(dropDir), [`${spoiled}.rejected`]);
  }

  it('a folder named *.json does not disable the queue', async () => {
    const { dropDir } = await withValidChange();
    mkdirSync(join(dropDir, 'folder.json'));
    await assertSetAside(dropDir, 'folder.json', /folder\.json: not read: it is not a regular file/);
  });

  it('a cut-off file is kept aside and reported, not skipped silently for ever', async () => {
    const { dropDir } = await withValidChange();
    writeFileSync(
      join(dropDir, 'cut.json'),
      queueText([queueEntry({ siteId: '1', names: ['a.example'] })]).slice(0, 80),
      {
        mode: 0o600,
      },
    );
    await assertSetAside(dropDir, 'cut.json', /cut\.json: not a queue file \(cut off or damaged\)/);
  });

  it('an entry the schema refuses is kept aside with its file, the valid ones merged', async () => {
    const { dropDir } = await withValidChange();
    const lineage = writeCertbotLineage(join((world as World).dir, 'le2'), 'www.example.com', both);
    writeFileSync(
      join(dropDir, 'mixed.json'),
      queueText([
        { ...queueEntry({ siteId: '7654321', names: ['www.example.com'], lineage }), siteId: '0x1' },
      ]),
      { mode: 0o600 },
    );
    await assertSetAside(dropDir, 'mixed.json', /mixed\.json: 1 entry is not valid \(siteId: /);
    const kept = JSON.parse(readFileSync(join(dropDir, 'mixed.json.rejected'), 'utf8')) as {
      entries: { siteId: string }[];
    };
    assert.equal(kept.entries[0]?.siteId, '0x1', 'kept as it was');
  });

  for (const [title, spoil, why] of [
    [
      'writable by others',
      (file: string) => chmodSync(file, 0o666),
      /writable by group or others \(mode 0666\)/,
    ],
    ['owned by another user', (file: string) => chownSync(file, 1000, 1000), /it is owned by user 1000/],
  ] as const) {
    it(`a file ${title} is not merged: kept aside and reported`, async () => {
      const { dropDir } = await withValidChange();
      const theirs = writeCertbotLineage(join((world as World).dir, 'theirs'), 'www.example.com', both);
      const file = join(dropDir, 'planted.json');
      writeFileSync(
        file,
        queueText([
          queueEntry({ siteId: '7654321', names: ['www.example.com'], lineage: theirs, explicit: true }),
        ]),
        { mode: 0o600 },
      );
      spoil(file);
      await assertSetAside(dropDir, 'planted.json', why);
    });
  }

  it('a file larger than 16 MiB is set aside unread', async () => {
    const { dropDir } = await withValidChange();
    const file = join(dropDir, 'huge.json');
    writeFileSync(file, '', { mode: 0o600 });
    truncateSync(file, 300 * 1024 * 1024);
    await assertSetAside(dropDir, 'huge.json', /huge\.json: not read: it is larger than 16 MiB/);
  });

  it('a FIFO named *.json neither hangs the run nor stops the queue', async () => {
    const { dropDir } = await withValidChange();
    execFileSync('mkfifo', [join(dropDir, 'pipe.json')]);
    await assertSetAside(dropDir, 'pipe.json', /pipe\.json: not read: it is not a regular file/);
  });

  it('temp files of killed writes: the state folder’s removed, queue.d’s only when their writer is gone', async () => {
    const { dropDir } = await withValidChange();
    const dead = 2 ** 22 + 1; // above Linux's largest pid: never running
    writeFileSync(join((world as World).stateDir, `.queue.${dead}.0a0b.tmp`), '{"version"');
    writeFileSync(join(dropDir, `.queue.${dead}.0c0d.tmp`), '{"version"');
    writeFileSync(join(dropDir, `.queue.${process.pid}.0e0f.tmp`), '{"version"');
    const result = await syncQueueOnly();
    assertRan(result);
    assert.deepEqual(
      readdirSync((world as World).stateDir).filter((name) => name.endsWith('.tmp')),
      [],
    );
    assert.deepEqual(
      readdirSync(dropDir),
      [`.queue.${process.pid}.0e0f.tmp`],
      'a running writer’s file stays',
    );
  });
});

describe('queue.json’s size bound', () => {
  it('a queue.json larger than 64 MiB is set aside unread and the run goes on', async () => {
    world = await createWorld();
    writeCertbotLineage(join(world.dir, 'le'), 'example.com', apexOnly);
    mkdirSync(world.stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(world.queueFile, '', { mode: 0o600 });
    truncateSync(world.queueFile, 65 * 1024 * 1024);
    const result = await runCli(['sync', '--live-dir', join(world.dir, 'le', 'live')], world.env);
    assertRan(result);
    assert.match(result.stderr, /queue\.json is not read \(it is larger than 64 MiB\)/);
    assert.deepEqual(
      world.fake.uploads().map((upload) => upload.siteId),
      ['1234567'],
    );
    assert.equal(
      readdirSync(world.stateDir).filter((name) => name.startsWith('queue.json.rejected-')).length,
      1,
      'kept aside by the run that held the lock',
    );
  });
});
