import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { withLock } from '../../src/state/lock.js';
import { StateError } from '../../src/model/errors.js';
import { Queue } from '../../src/state/queue.js';
import type { Failure } from '../../src/state/transitions.js';
import { ROOT, tempDir } from '../support/harness.js';

function memoryLog() {
  const lines: string[] = [];
  const push = (level: string) => (message: string) => lines.push(`${level}: ${message}`);
  return {
    lines,
    log: { info: push('info'), warn: push('warn'), error: push('error'), debug: push('debug') },
  };
}

const failure = (overrides: Partial<Failure> = {}): Failure => ({
  siteId: '1',
  authType: 'ECC',
  names: ['example.com'],
  source: {
    cert: '/le/live/example.com/fullchain.pem',
    key: '/le/live/example.com/privkey.pem',
    lineage: '/le/live/example.com',
  },
  fingerprint: 'aa',
  notAfter: new Date('2027-01-01T00:00:00Z'),
  error: 'HTTP 502',
  attempts: 4,
  ...overrides,
});

describe('Queue', () => {
  it('records a failure with everything sync needs, in a 0600 file under a 0700 folder', async () => {
    const stateDir = join(tempDir(), 'state');
    const queue = new Queue(stateDir, memoryLog().log, () => new Date('2026-11-27T01:00:00Z'));
    await queue.settle([failure()], []);
    assert.equal(statSync(stateDir).mode & 0o777, 0o700);
    assert.equal(statSync(queue.file).mode & 0o777, 0o600);
    assert.deepEqual(await queue.entries(), [
      {
        siteId: '1',
        authType: 'ECC',
        names: ['example.com'],
        source: failure().source,
        fingerprint: 'aa',
        notAfter: '2027-01-01T00:00:00.000Z',
        state: 'failed',
        explicit: false,
        since: '2026-11-27T01:00:00.000Z',
        lastError: 'HTTP 502',
        attempts: 4,
        firstFailure: '2026-11-27T01:00:00.000Z',
        lastFailure: '2026-11-27T01:00:00.000Z',
        unreachedSince: '2026-11-27T01:00:00.000Z',
      },
    ]);
    assert.deepEqual(readdirSync(stateDir), ['queue.json'], 'no temp or lock file is left behind');
  });

  it('carries attempts for the same certificate, and lets a newer certificate replace the entry', async () => {
    let now = new Date('2026-11-27T01:00:00Z');
    const queue = new Queue(tempDir(), memoryLog().log, () => now);
    await queue.settle([failure()], []);
    now = new Date('2026-11-27T02:00:00Z');
    await queue.settle([failure({ error: 'res 3015', attempts: 2 })], []);
    let [entry] = await queue.entries();
    assert.deepEqual(
      [entry?.attempts, entry?.lastError, entry?.firstFailure, entry?.lastFailure],
      [6, 'res 3015', '2026-11-27T01:00:00.000Z', '2026-11-27T02:00:00.000Z'],
    );
    await queue.settle(
      [failure({ fingerprint: 'bb', notAfter: new Date('2027-03-01T00:00:00Z'), attempts: 1 })],
      [],
    );
    [entry] = await queue.entries();
    assert.deepEqual(
      [entry?.fingerprint, entry?.attempts, entry?.firstFailure],
      ['bb', 1, '2026-11-27T02:00:00.000Z'],
    );
    // An older certificate never displaces a newer one.
    await queue.settle([failure({ fingerprint: 'old', notAfter: new Date('2026-12-01T00:00:00Z') })], []);
    assert.equal((await queue.entries())[0]?.fingerprint, 'bb');
    assert.equal((await queue.entries()).length, 1);
  });

  it('keeps the deferral clock while the site goes unreached, and resets it when Imperva answers', async () => {
    let now = new Date('2026-11-27T01:00:00Z');
    const queue = new Queue(tempDir(), memoryLog().log, () => now);
    const { error: _error, attempts: _attempts, ...intent } = failure();
    const clock = async () => {
      const [entry] = await queue.entries();
      return [entry?.state, entry?.unreachedSince];
    };
    await queue.settle({ deferred: [intent] });
    assert.deepEqual(await clock(), ['deferred', '2026-11-27T01:00:00.000Z']);
    now = new Date('2026-11-27T02:00:00Z');
    await queue.settle({ deferred: [intent] });
    assert.deepEqual(await clock(), ['deferred', '2026-11-27T01:00:00.000Z'], 'deferred again: kept');
    // Failed for having been deferred too long: Imperva answered nothing, the clock goes on.
    now = new Date('2026-11-28T03:00:00Z');
    await queue.settle([failure({ unreachedSince: '2026-11-27T01:00:00.000Z' })]);
    assert.deepEqual(await clock(), ['failed', '2026-11-27T01:00:00.000Z']);
    // Imperva answered (a failure of its own): the clock starts again, and a deferral after it keeps that.
    now = new Date('2026-11-28T04:00:00Z');
    await queue.settle([failure()]);
    assert.deepEqual(await clock(), ['failed', '2026-11-28T04:00:00.000Z']);
    now = new Date('2026-11-28T05:00:00Z');
    await queue.settle({ deferred: [intent] });
    assert.deepEqual(await clock(), ['failed', '2026-11-28T04:00:00.000Z']);
    // A newer certificate is owed from when it is first deferred.
    await queue.settle({
      deferred: [{ ...intent, fingerprint: 'bb', notAfter: new Date('2027-03-01T00:00:00Z') }],
    });
    assert.deepEqual(await clock(), ['deferred', '2026-11-28T05:00:00.000Z']);
  });

  it('removes an entry when its site got that certificate or a newer one, not an older one', async () => {
    const queue = new Queue(tempDir(), memoryLog().log);
    await queue.settle([failure({ siteId: '1' }), failure({ siteId: '2' })], []);
    await queue.settle([], [{ siteId: '1', notAfter: new Date('2026-12-01T00:00:00Z') }]);
    assert.equal((await queue.entries()).length, 2);
    await queue.settle([], [{ siteId: '1', notAfter: new Date('2027-01-01T00:00:00Z') }]);
    assert.deepEqual(
      (await queue.entries()).map((entry) => entry.siteId),
      ['2'],
    );
  });

  it('keeps a corrupt file aside and says so', async () => {
    const { lines, log } = memoryLog();
    const stateDir = tempDir();
    const queue = new Queue(stateDir, log, () => new Date('2026-11-27T01:02:03.004Z'));
    writeFileSync(queue.file, '{"version": 1, "entries": [ {"siteId": "9", trunc');
    assert.deepEqual(await queue.entries(), []);
    await queue.settle([failure()], []);
    const aside = join(stateDir, 'queue.json.corrupt-2026-11-27T01-02-03-004Z');
    assert.equal(readFileSync(aside, 'utf8'), '{"version": 1, "entries": [ {"siteId": "9", trunc');
    assert.equal((await queue.entries()).length, 1);
    assert.ok(
      lines.some(
        (line) =>
          line ===
          `warn: retry queue ${queue.file} was corrupt; kept aside as ${aside} (sync rebuilds what it owed from the live certificates)`,
      ),
    );
  });

  it('reports a state folder it cannot create', async () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    const queue = new Queue(join(file, 'state'), memoryLog().log);
    await assert.rejects(queue.settle([failure()], []), (error) => {
      assert.ok(error instanceof StateError);
      assert.equal(error.message, `cannot update the retry queue in ${join(file, 'state')} (ENOTDIR)`);
      return true;
    });
  });

  it('writes its file as JSON.stringify(…, null, 2) writes it, in pieces (a queue of thousands is megabytes)', async () => {
    const dir = tempDir();
    const queue = new Queue(dir, memoryLog().log);
    const file = join(dir, 'queue.json');
    const canonical = (text: string) => `${JSON.stringify(JSON.parse(text), null, 2)}\n`;
    await queue.settle([failure({ siteId: '1' })], []);
    const one = readFileSync(file, 'utf8');
    assert.equal(one, canonical(one));
    const many = Array.from({ length: 2500 }, (_, index) => failure({ siteId: String(index + 2) }));
    await queue.settle(many, []);
    const text = readFileSync(file, 'utf8');
    assert.ok(text.length > 64 * 1024 * 4, 'large enough to be written in several pieces');
    assert.equal(text, canonical(text));
    assert.equal((JSON.parse(text) as { entries: unknown[] }).entries.length, 2501);
    await queue.settle(
      [],
      [...many, failure({ siteId: '1' })].map((one) => ({ siteId: one.siteId, notAfter: one.notAfter })),
    );
    const empty = readFileSync(file, 'utf8');
    assert.equal(empty, canonical(empty));
    assert.deepEqual(JSON.parse(empty), { version: 3, entries: [] });
  });

  it('settles thousands of sites at once, each kept, replaced or removed by its own site and key type', async () => {
    const queue = new Queue(tempDir(), memoryLog().log);
    const sites = Array.from({ length: 3000 }, (_, index) => String(index + 1));
    await queue.settle(
      sites.map((siteId) => failure({ siteId })),
      [],
    );
    // RSA entries beside the ECC ones; then a newer certificate for the even sites, and delivery of every third.
    await queue.settle(
      sites.slice(0, 10).map((siteId) => failure({ siteId, authType: 'RSA' })),
      [],
    );
    const newer = new Date('2027-02-01T00:00:00Z');
    await queue.settle(
      sites
        .filter((siteId) => Number(siteId) % 2 === 0)
        .map((siteId) => failure({ siteId, notAfter: newer, fingerprint: 'bb' })),
      sites
        .filter((siteId) => Number(siteId) % 3 === 0)
        .map((siteId) => ({ siteId, authType: 'ECC' as const, notAfter: new Date('2027-01-01T00:00:00Z') })),
    );
    const entries = await queue.entries();
    const ecc = new Map(
      entries.filter((entry) => entry.authType === 'ECC').map((entry) => [entry.siteId, entry]),
    );
    for (const siteId of sites) {
      const entry = ecc.get(siteId);
      const n = Number(siteId);
      if (n % 2 === 0) assert.equal(entry?.fingerprint, 'bb', `site ${siteId}: the newer certificate`);
      else if (n % 3 === 0) assert.equal(entry, undefined, `site ${siteId}: delivered`);
      else assert.equal(entry?.attempts, 4, `site ${siteId}: kept as it was`);
    }
    assert.equal(entries.filter((entry) => entry.authType === 'RSA').length, 10);
    assert.equal(new Set(entries.map((entry) => `${entry.siteId} ${entry.authType}`)).size, entries.length);
  });

  it("settles this run's own intent from memory, not by reading its file back", async () => {
    const dir = tempDir();
    const queue = new Queue(dir, memoryLog().log);
    const intents = ['1', '2', '3'].map((siteId) => {
      const { error: _error, attempts: _attempts, ...intent } = failure({ siteId });
      return intent;
    });
    await queue.begin(intents);
    const [intentFile] = readdirSync(join(dir, 'queue.d'));
    assert.ok(intentFile !== undefined);
    // Whatever the file holds now, settle merges what this run wrote, and clears the file.
    writeFileSync(join(dir, 'queue.d', intentFile), '{"version": 3, "entries": []}\n');
    await queue.settle({
      failures: [failure({ siteId: '2' })],
      delivered: [{ siteId: '1', notAfter: new Date('2027-01-01T00:00:00Z') }],
    });
    const entries = await queue.entries();
    assert.deepEqual(
      entries.map((entry) => [entry.siteId, entry.state]),
      [
        ['2', 'failed'],
        ['3', 'pending'],
      ],
    );
    assert.deepEqual(readdirSync(join(dir, 'queue.d')), []);
  });

  it('loses no entry when many processes record failures at the same moment', async () => {
    const stateDir = tempDir();
    const writers = Array.from(
      { length: 12 },
      (_, index) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(
            process.execPath,
            ['--import', 'tsx', join(ROOT, 'test/support/queue-writer.ts'), stateDir, String(index + 1)],
            {
              stdio: 'inherit',
            },
          );
          child.on('close', resolve);
        }),
    );
    assert.deepEqual(await Promise.all(writers), Array(12).fill(0));
    const entries = await new Queue(stateDir, memoryLog().log).entries();
    assert.deepEqual(
      entries.map((entry) => Number(entry.siteId)).sort((a, b) => a - b),
      Array.from({ length: 12 }, (_, index) => index + 1),
    );
  });
});

describe('withLock', () => {
  it('takes over a lock left behind by a process that is gone', async () => {
    const lock = join(tempDir(), 'queue.lock');
    writeFileSync(lock, '999999999\n');
    assert.equal(await withLock(lock, async () => 'ran'), 'ran');
  });

  it('waits for a live holder, then gives up with a message naming the lock', async () => {
    const lock = join(tempDir(), 'queue.lock');
    writeFileSync(lock, `${process.ppid}\n`);
    await assert.rejects(
      withLock(lock, async () => 'ran', { waitMs: 100 }),
      /lock .*queue\.lock is held by another incap-cert run/,
    );
  });

  it('runs one holder at a time within a process too', async () => {
    const lock = join(tempDir(), 'queue.lock');
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 5 }, () =>
        withLock(lock, async () => {
          inside += 1;
          most = Math.max(most, inside);
          await new Promise((resolve) => setTimeout(resolve, 10));
          inside -= 1;
        }),
      ),
    );
    assert.equal(most, 1);
  });
});
