/** The queue file written by 0.1 is read and migrated entry by entry: a bad entry is kept aside, no valid one lost. */
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
    assert.deepEqual(entries[1]?.source, { cert: '/srv/certs/a.pem', key: '/srv/certs/a.key' });
    assert.ok(lines.some((line) => /^warn: retry queue .*: 1 entries are not valid \(siteId: /.test(line)));
  });

  it('is rewritten as version 2 by the next change, the bad entry kept aside, nothing valid lost', async () => {
    const stateDir = tempDir();
    const { lines, log } = memoryLog();
    const queue = new Queue(stateDir, log, () => new Date('2026-11-27T05:00:00Z'));
    writeFileSync(queue.file, V1_FILE, { mode: 0o600 });
    // Another site delivered: the change rewrites the file.
    await queue.settle([], [{ siteId: '999', notAfter: new Date('2027-01-01T00:00:00Z') }]);
    const written = JSON.parse(readFileSync(queue.file, 'utf8')) as {
      version: number;
      entries: { siteId: string }[];
    };
    assert.equal(written.version, 2);
    assert.deepEqual(
      written.entries.map((entry) => entry.siteId),
      ['1234567', '42'],
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

describe('a queue whose lock another run holds too long', () => {
  it('records the failure in a file of its own, says so, and the next change merges it', async () => {
    const stateDir = tempDir();
    const { lines, log } = memoryLog();
    const queue = new Queue(
      stateDir,
      log,
      () => new Date('2026-11-27T06:00:00Z'),
      (text) => text,
      200,
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
