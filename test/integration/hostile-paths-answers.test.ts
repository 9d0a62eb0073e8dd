/**
 * What a hostile host or a broken API put in a run's way, through the built CLI:
 * - a log file that is another name of someone's file (a hard link) or another user's file is not written to, nor
 *   chmod-ed: before, root appended its lines to it and set it to 0600 (a link to /etc/passwd would lock users out);
 * - a queue folder that is not a folder (a FIFO at queue.d, at the state folder) is named in one line, also when the
 *   lock is busy and the change goes aside: before, that path ended the run with "internal error: EEXIST: …";
 * - an Imperva answer that gives `res` twice (`{"res":1,"res":0}`) is not a success: before, JSON.parse kept the
 *   last one and the upload counted as delivered.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, linkSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com', 'www.example.com'] });
});
let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

const asRoot = process.getuid?.() === 0;

describe('a log file root must not write to', () => {
  it('a hard link to another file: neither appended to nor chmod-ed; one warning; the run goes on', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const victim = join(world.dir, 'passwd');
    writeFileSync(victim, 'root:x:0:0::/root:/bin/sh\n', { mode: 0o644 });
    mkdirSync(join(world.dir, 'log'));
    const log = join(world.dir, 'log', 'incap-cert.log');
    linkSync(victim, log);
    const result = await runCli(['deploy', '--log-file', log], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(world.fake.acceptedUploads().length, 2);
    assert.equal(readFileSync(victim, 'utf8'), 'root:x:0:0::/root:/bin/sh\n');
    assert.equal(statSync(victim).mode & 0o777, 0o644);
    assert.equal(
      result.stderr,
      `warning: cannot write log file ${log} (hard-linked: 2 names); logging to the console only\n`,
    );
  });

  it('owned by another user: not written to; one warning', { skip: !asRoot && 'needs root' }, async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const log = join(world.dir, 'incap-cert.log');
    writeFileSync(log, '', { mode: 0o644 });
    chownSync(log, 1000, 1000);
    const result = await runCli(['deploy', '--log-file', log], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(readFileSync(log, 'utf8'), '');
    assert.equal(statSync(log).mode & 0o777, 0o644);
    assert.match(
      result.stderr,
      /cannot write log file .* \(owned by user 1000\); logging to the console only/,
    );
  });
});

describe('a queue folder that is not a folder', () => {
  it('a FIFO at the state folder: one line naming it, the uploads stand', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    execFileSync('mkfifo', [world.stateDir]);
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(world.fake.acceptedUploads().length, 2);
    assert.match(
      result.stderr,
      new RegExp(
        `^error: cannot update the retry queue in \\S+ \\(${world.stateDir} is a FIFO, not a folder\\);`,
      ),
    );
    assert.equal(result.stderr.trimEnd().split('\n').length, 1, result.stderr);
  });

  it('a FIFO at queue.d while the lock is busy: one line naming it, not an internal error', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    mkdirSync(world.stateDir, { mode: 0o700 });
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const start = readFileSync(`/proc/${process.pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19];
    writeFileSync(
      join(world.stateDir, 'queue.lock'),
      JSON.stringify({ pid: process.pid, start, boot, token: 'held-by-the-test' }),
    );
    world.fake.inject({ endpoint: 'upload', siteId: '7654321', times: Infinity, fault: { status: 503 } });
    execFileSync('mkfifo', [join(world.stateDir, 'queue.d')]);
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 1, result.stderr);
    assert.doesNotMatch(result.stderr, /internal error|EEXIST/);
    assert.match(result.stderr, /queue\.d is a FIFO, not a folder/);
  });
});

describe('an Imperva answer that says two things', () => {
  it('{"res":1,"res":0} to an upload is not a delivery: retried, then failed and queued', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    world.fake.inject({
      endpoint: 'upload',
      siteId: '1234567',
      times: Infinity,
      fault: { body: '{"res":1,"res":0}', contentType: 'application/json' },
    });
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /site 1234567 \(example\.com\): upload failed: Imperva answered with something that is not JSON/,
    );
    assert.ok(world.fake.uploads().filter((request) => request.siteId === '1234567').length > 1, 'retried');
    const queued = JSON.parse(readFileSync(world.queueFile, 'utf8')) as { entries: { siteId: string }[] };
    assert.deepEqual(
      queued.entries.map((entry) => entry.siteId),
      ['1234567'],
    );
  });
});
