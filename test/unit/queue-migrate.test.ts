/**
 * Queue files written by 0.1 (version 1) and by the 0.2 development builds (version 2) are read and migrated entry by
 * entry to version 3: a bad entry is kept aside, no valid one lost, and the deferral clock that version 2 kept only in
 * an error's text becomes the entry's unreachedSince.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { withLock } from '../../src/state/lock.js';
import { Queue } from '../../src/state/queue.js';
import { tempDir } from '../support/harness.js';

const V1_ENTRY = {
  siteId: '1234567',
  authType: 'ECC',
  names: ['example.com'],
  source: {
    cert: '/etc/letsencrypt/live/example.com/fullchain.pem',
    key: '/etc/letsencrypt/live/example.com/privkey.pem',
    lineage: '/etc/letsencrypt/live/example.com',
  },
  fingerprint: 'ab'.repeat(32),
  notAfter: '2027-01-01T00:00:00.000Z',
  lastError: 'Imperva answered HTTP 503 with an HTML page',
  attempts: 4,
  firstFailure: '2026-11-20T03:00:00.000Z',
  lastFailure: '2026-11-21T03:00:00.000Z',
};

/** As 0.1 wrote it: `{"version": 1, "entries": [...]}`, pretty-printed. */
const V1_FILE = JSON.stringify(
  {
    version: 1,
    entries: [
      V1_ENTRY,
      // Valid in 0.1 (it checked siteId, fingerprint and source.cert only): an RSA push from files, odd fingerprint.
      {
        ...V1_ENTRY,
        siteId: '42',
        authType: 'RSA',
        source: { cert: '/srv/certs/a.pem', key: '/srv/certs/a.key' },
        fingerprint: 'not-hex!',
      },
      // Not an entry 0.1 could have written.
      { siteId: 7, fingerprint: 'x' },
    ],
  },
  null,
  2,
);

function memoryLog() {
  const lines: string[] = [];
  const push = (level: string) => (message: string) => lines.push(`${level}: ${message}`);
  return {
    lines,
    log: { info: push('info'), warn: push('warn'), error: push('error'), debug: push('debug') },
  };
}

describe('a 0.1 queue file', () => {
  it('is read with every valid entry migrated, and the bad one reported', async () => {
    const stateDir = tempDir();
    const { lines, log } = memoryLog();
    const queue = new Queue(stateDir, log);
    writeFileSync(queue.file, V1_FILE, { mode: 0o600 });
    const entries = await queue.entries();
    assert.deepEqual(
      entries.map((entry) => [entry.siteId, entry.authType, entry.state, entry.attempts, entry.since]),
      [
        ['1234567', 'ECC', 'failed', 4, '2026-11-20T03:00:00.000Z'],
        ['42', 'RSA', 'failed', 4, '2026-11-20T03:00:00.000Z'],
      ],
    );
    assert.equal(entries[0]?.fingerprint, V1_ENTRY.fingerprint);
    // Imperva answered each at its last failure: the clock starts there.
    assert.deepEqual(
      entries.map((entry) => entry.unreachedSince),
      [V1_ENTRY.lastFailure, V1_ENTRY.lastFailure],
    );
    assert.deepEqual(entries[1]?.source, { cert: '/srv/certs/a.pem', key: '/srv/certs/a.key' });
    assert.ok(lines.some((line) => /^warn: retry queue .*: 1 entries are not valid \(siteId: /.test(line)));
  });

  it('is rewritten as version 3 by the next change, the bad entry kept aside, nothing valid lost', async () => {
    const stateDir = tempDir();
    const { lines, log } = memoryLog();
    const queue = new Queue(stateDir, log, () => new Date('2026-11-27T05:00:00Z'));
    writeFileSync(queue.file, V1_FILE, { mode: 0o600 });
    // Another site delivered: the change rewrites the file.
    await queue.settle([], [{ siteId: '999', notAfter: new Date('2027-01-01T00:00:00Z') }]);
    const written = JSON.parse(readFileSync(queue.file, 'utf8')) as {
      version: number;
      entries: { siteId: string; unreachedSince: string }[];
    };
    assert.equal(written.version, 3);
    assert.deepEqual(
      written.entries.map((entry) => [entry.siteId, entry.unreachedSince]),
      [
        ['1234567', V1_ENTRY.lastFailure],
        ['42', V1_ENTRY.lastFailure],
      ],
    );
    const aside = readdirSync(stateDir).filter((name) => name.startsWith('queue.rejected-'));
    assert.equal(aside.length, 1);
    const kept = JSON.parse(readFileSync(join(stateDir, aside[0] ?? ''), 'utf8')) as {
      rejected: { entry: unknown }[];
    };
    assert.deepEqual(kept.rejected[0]?.entry, { siteId: 7, fingerprint: 'x' });
    assert.ok(lines.some((line) => /1 entry is not valid .*kept aside in .*queue\.rejected-/.test(line)));
    // A delivery of the migrated entry's certificate removes it, by site and key type.
    await queue.settle([], [{ siteId: '42', authType: 'RSA', notAfter: new Date('2027-01-01T00:00:00Z') }]);
    assert.deepEqual(
      (await queue.entries()).map((entry) => entry.siteId),
      ['1234567'],
    );
  });
});

/** What the 0.2 development builds wrote: no unreachedSince; the engine read the clock from state and lastError. */
const V2_ENTRY = {
  siteId: '1001',
  authType: 'ECC' as const,
  names: ['example.com'],
  source: {
    cert: '/etc/letsencrypt/live/example.com/fullchain.pem',
    key: '/etc/letsencrypt/live/example.com/privkey.pem',
    lineage: '/etc/letsencrypt/live/example.com',
  },
  fingerprint: 'ab'.repeat(32),
  notAfter: '2027-01-01T00:00:00.000Z',
  state: 'deferred',
  explicit: false,
  since: '2026-11-20T03:00:00.000Z',
  lastError: '',
  attempts: 0,
};
const FAILED = {
  ...V2_ENTRY,
  state: 'failed',
  attempts: 3,
  firstFailure: '2026-11-21T03:00:00.000Z',
  lastFailure: '2026-11-23T03:00:00.000Z',
};
const TOO_LONG = (since: string) =>
  `deferred by every sync since ${since}; raise deadlineSeconds or ratePerMinute, or run sync more often`;

const V2_FILE = JSON.stringify(
  {
    version: 2,
    entries: [
      // Deferred, and pending (a killed deploy): owed, unreached since they were recorded.
      V2_ENTRY,
      { ...V2_ENTRY, siteId: '1002', state: 'pending', since: '2026-11-22T03:00:00.000Z' },
      // Failed with an answer from Imperva: from the last failure.
      { ...FAILED, siteId: '1003', lastError: 'Imperva answered HTTP 503 with an HTML page' },
      // Failed for having been deferred too long: from when the deferrals began, as the text says.
      { ...FAILED, siteId: '1004', lastError: TOO_LONG('2026-11-19T03:00:00.000Z') },
      // The same words about a time that is not one: the last failure, as version 2 read it.
      { ...FAILED, siteId: '1005', lastError: TOO_LONG('yesterday') },
      // Not an entry version 2 could have written.
      { ...V2_ENTRY, siteId: '1006', state: 'lost' },
    ],
  },
  null,
  2,
);

describe('a version 2 queue file', () => {
  it('is read with the deferral clock of each entry as a field, and the bad entry reported', async () => {
    const { lines, log } = memoryLog();
    const queue = new Queue(tempDir(), log);
    writeFileSync(queue.file, V2_FILE, { mode: 0o600 });
    const entries = await queue.entries();
    assert.deepEqual(
      entries.map((entry) => [entry.siteId, entry.state, entry.unreachedSince]),
      [
        ['1001', 'deferred', '2026-11-20T03:00:00.000Z'],
        ['1002', 'pending', '2026-11-22T03:00:00.000Z'],
        ['1003', 'failed', '2026-11-23T03:00:00.000Z'],
        ['1004', 'failed', '2026-11-19T03:00:00.000Z'],
        ['1005', 'failed', '2026-11-23T03:00:00.000Z'],
      ],
    );
    // Nothing else changes: the rest of each entry is as it was.
    const { unreachedSince: _clock, ...rest } = entries[0] ?? { unreachedSince: '' };
    assert.deepEqual(rest, V2_ENTRY);
    assert.ok(lines.some((line) => /^warn: retry queue .*: 1 entries are not valid \(state: /.test(line)));
  });

  it('is rewritten as version 3 by the next change, the bad entry kept aside, nothing valid lost', async () => {
    const stateDir = tempDir();
    const { log } = memoryLog();
    const queue = new Queue(stateDir, log, () => new Date('2026-11-27T05:00:00Z'));
    writeFileSync(queue.file, V2_FILE, { mode: 0o600 });
    // A later deferral of the site deferred since the 20th keeps its clock.
    const { lastError: _e, attempts: _a, state: _s, explicit: _x, since: _since, ...intent } = V2_ENTRY;
    await queue.settle({ deferred: [{ ...intent, notAfter: new Date(intent.notAfter) }] });
    const written = JSON.parse(readFileSync(queue.file, 'utf8')) as {
      version: number;
      entries: { siteId: string; unreachedSince?: string }[];
    };
    assert.equal(written.version, 3);
    assert.deepEqual(
      written.entries.map((entry) => [entry.siteId, entry.unreachedSince]),
      [
        ['1001', '2026-11-20T03:00:00.000Z'],
        ['1002', '2026-11-22T03:00:00.000Z'],
        ['1003', '2026-11-23T03:00:00.000Z'],
        ['1004', '2026-11-19T03:00:00.000Z'],
        ['1005', '2026-11-23T03:00:00.000Z'],
      ],
    );
    const aside = readdirSync(stateDir).filter((name) => name.startsWith('queue.rejected-'));
    assert.equal(aside.length, 1);
    const kept = JSON.parse(readFileSync(join(stateDir, aside[0] ?? ''), 'utf8')) as {
      rejected: { entry: unknown; problem: string }[];
    };
    assert.deepEqual(kept.rejected[0]?.entry, { ...V2_ENTRY, siteId: '1006', state: 'lost' });
  });
});

describe('a version 3 queue file', () => {
  const V3_ENTRY = { ...V2_ENTRY, unreachedSince: '2026-11-20T03:00:00.000Z' };

  it('takes its deferral clock from the field alone, never from the text', async () => {
    const queue = new Queue(tempDir(), memoryLog().log);
    const entry = {
      ...FAILED,
      ...V3_ENTRY,
      state: 'failed',
      lastError: TOO_LONG('2026-11-01T00:00:00.000Z'),
    };
    writeFileSync(queue.file, JSON.stringify({ version: 3, entries: [entry] }), { mode: 0o600 });
    assert.deepEqual(
      (await queue.entries()).map((one) => one.unreachedSince),
      ['2026-11-20T03:00:00.000Z'],
    );
  });

  it('is read by a build that does not know a field added later in version 3 (the field is left out)', async () => {
    const queue = new Queue(tempDir(), memoryLog().log);
    const later = { ...V3_ENTRY, deliveredAt: '2026-11-27T00:00:00.000Z' };
    writeFileSync(queue.file, JSON.stringify({ version: 3, entries: [later] }), { mode: 0o600 });
    assert.deepEqual(await queue.entries(), [V3_ENTRY]);
  });

  it('keeps aside an entry without its deferral clock', async () => {
    const { lines, log } = memoryLog();
    const queue = new Queue(tempDir(), log);
    writeFileSync(queue.file, JSON.stringify({ version: 3, entries: [V2_ENTRY, V3_ENTRY] }), {
      mode: 0o600,
    });
    assert.deepEqual(await queue.entries(), [V3_ENTRY]);
    assert.ok(
      lines.some((line) => /1 entries are not valid \(unreachedSince: /.test(line)),
      lines.join('\n'),
    );
  });
});

describe('a queue whose lock another run holds too long', () => {
  it('records the failure in a file of its own, says so, and the next change merges it', async () => {
    const stateDir = tempDir();
    const { lines, log } = memoryLog();
    const queue = new Queue(
      stateDir,
      log,
      () => new Date('2026-11-27T06:00:00Z'),
      (text) => text,
      { waitMs: 200 },
    );
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const holder = withLock(join(stateDir, 'queue.lock'), () => held);
    await queue.settle(
      [
        {
          siteId: '77',
          authType: 'RSA',
          names: ['example.com'],
          source: { cert: '/srv/a.pem', key: '/srv/a.key' },
          fingerprint: 'cd'.repeat(32),
          notAfter: new Date('2027-01-01T00:00:00Z'),
          error: 'HTTP 503',
          attempts: 4,
        },
      ],
      [],
    );
    assert.ok(
      lines.some((line) =>
        /^warn: the retry queue in .* is locked by another run; recorded in .*queue\.d\/.*\.json instead/.test(
          line,
        ),
      ),
      lines.join('\n'),
    );
    assert.deepEqual(
      (await queue.entries()).map((entry) => [entry.siteId, entry.state, entry.attempts]),
      [['77', 'failed', 4]],
      'readers see it at once',
    );
    release();
    await holder;
    await queue.settle([], [{ siteId: '999', notAfter: new Date('2027-01-01T00:00:00Z') }]);
    assert.deepEqual(readdirSync(join(stateDir, 'queue.d')), [], 'merged and cleared');
    const written = JSON.parse(readFileSync(queue.file, 'utf8')) as { entries: { siteId: string }[] };
    assert.deepEqual(
      written.entries.map((entry) => entry.siteId),
      ['77'],
    );
  });
});
