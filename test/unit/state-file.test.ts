/**
 * The one state-file cycle (src/state/state-file.ts) that the delivery record and the ARI cache share: what cannot
 * be used reads as empty with a warning naming the field, is set aside by the next change, and a change waits for
 * the queue's lock no longer than the run's deadline, and not at all once the run is asked to stop.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as v from 'valibot';
import { issueAt, StateFile } from '../../src/state/state-file.js';
import { tempDir } from '../support/harness.js';
import { holdLock } from '../support/held-locks.js';
import { memoryLog } from '../support/memory-log.js';

const Counts = v.record(v.string(), v.pipe(v.number(), v.integer()));

/** A state file of counts by name, in `stateDir`. */
function counts(stateDir: string, log: ReturnType<typeof memoryLog>['log'], run = {}) {
  return new StateFile<Map<string, number>>(
    {
      file: join(stateDir, 'counts.json'),
      label: 'count file',
      maxBytes: 1024,
      version: 1,
      parse: (json) => {
        const read = v.safeParse(Counts, json.counts);
        if (!read.success) return { problem: `not valid (${issueAt(read.issues)})` };
        return { value: new Map(Object.entries(read.output)) };
      },
      serialize: (value) => ({ counts: Object.fromEntries(value) }),
      empty: () => new Map(),
    },
    log,
    () => new Date('2026-12-01T00:00:00Z'),
    run,
  );
}

describe('a state file', () => {
  it('reads as empty when absent, and keeps what a change wrote', async () => {
    const stateDir = join(tempDir(), 'state');
    const { log, lines } = memoryLog();
    const file = counts(stateDir, log);
    assert.deepEqual(await file.read(), new Map());
    await file.change((all) => all.set('a', 1));
    assert.deepEqual(await file.read(), new Map([['a', 1]]));
    assert.deepEqual(JSON.parse(readFileSync(join(stateDir, 'counts.json'), 'utf8')), {
      version: 1,
      counts: { a: 1 },
    });
    assert.deepEqual(lines, []);
  });

  it('one that fails its schema reads as empty with the field named, and the next change sets it aside', async () => {
    const stateDir = join(tempDir(), 'state');
    mkdirSync(stateDir, { mode: 0o700 });
    writeFileSync(join(stateDir, 'counts.json'), '{"version":1,"counts":{"a":1.5}}', { mode: 0o600 });
    const { log, lines } = memoryLog();
    const file = counts(stateDir, log);
    assert.deepEqual(await file.read(), new Map());
    assert.match(
      lines.join('\n'),
      /^warn: count file .*counts\.json: not valid \(a\); the next change keeps it aside$/m,
    );
    await file.change((all) => all.set('b', 2));
    assert.deepEqual(await file.read(), new Map([['b', 2]]));
    assert.deepEqual(
      readdirSync(stateDir).filter((name) => name.startsWith('counts.json.rejected-')),
      ['counts.json.rejected-2026-12-01T00-00-00-000Z'],
    );
  });

  it("a change waits for a held lock no longer than the run's deadline, and not at all once stopped", async () => {
    const stateDir = join(tempDir(), 'state');
    holdLock(join(stateDir, 'queue.lock'));
    const { log, lines } = memoryLog();
    let started = Date.now();
    await counts(stateDir, log, { endsAt: started + 300 }).change((all) => all.set('a', 1));
    assert.ok(Date.now() - started < 5_000, `waited ${Date.now() - started} ms past a 300 ms deadline`);
    const stop = new AbortController();
    stop.abort('SIGTERM');
    started = Date.now();
    await counts(stateDir, log, { signal: stop.signal }).change((all) => all.set('a', 1));
    assert.ok(Date.now() - started < 1_000, `waited ${Date.now() - started} ms once stopped`);
    assert.equal(lines.filter((line) => /^warn: cannot update the count file .*lock/.test(line)).length, 2);
    assert.deepEqual(await counts(stateDir, log).read(), new Map(), 'nothing written without the lock');
  });
});
