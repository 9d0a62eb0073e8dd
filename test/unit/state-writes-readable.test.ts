/**
 * What a state file writes, its own reader accepts: a lineage whose folder name the reader refuses (a control
 * character, which the owner of a `sources` folder can choose) is left out of the file, not written and then found
 * unusable, which set the whole ARI cache or canary record aside on every run.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AriCache } from '../../src/ari/cache.js';
import { PathRecord } from '../../src/canary/record.js';
import { tempDir } from '../support/harness.js';
import { memoryLog } from '../support/memory-log.js';

const odd = 'bad\u001b[31mname';
const now = () => new Date('2026-12-06T00:00:00Z');

function stateDir(): string {
  const dir = join(tempDir(), 'state');
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

describe('a lineage name the reader refuses is not written', () => {
  it('the ARI cache keeps the other lineages, and reads back without setting anything aside', async () => {
    const dir = stateDir();
    const { lines, log } = memoryLog();
    const cache = new AriCache(dir, log, now);
    await cache.change((state) => {
      for (const lineage of ['good', odd])
        state.records.set(`${lineage === odd ? 'b' : 'a'}.AAAA`, {
          id: `${lineage === odd ? 'b' : 'a'}.AAAA`,
          lineage,
          nextAt: '2026-12-07T00:00:00.000Z',
        });
      state.states.set('good', 'ok');
      state.states.set(odd, 'ok');
    });
    const read = await new AriCache(dir, log, now).read();
    assert.deepEqual(
      [...read.records.values()].map((record) => record.lineage),
      ['good'],
    );
    assert.deepEqual([...read.states.keys()], ['good']);
    await cache.change(() => {});
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.includes('rejected')),
      [],
      lines.join('\n'),
    );
    assert.equal(lines.filter((line) => line.startsWith('warn')).length, 0, lines.join('\n'));
  });

  it('the canary record keeps the other paths, and reads back without setting anything aside', async () => {
    const dir = stateDir();
    const { lines, log } = memoryLog();
    const record = new PathRecord(dir, log, now, {});
    const check = (lineage: string) => ({
      lineage,
      name: 'a.example',
      verdict: 'pass' as const,
      detail: '',
      advice: null,
    });
    const before = await record.read();
    await record.record([check('good'), check(odd)], before);
    const read = await new PathRecord(dir, log, now, {}).read();
    assert.deepEqual(
      read.paths.map((path) => path.lineage),
      ['good'],
    );
    await record.record([check('good')], read);
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.includes('rejected')),
      [],
      lines.join('\n'),
    );
    assert.equal(lines.filter((line) => line.startsWith('warn')).length, 0, lines.join('\n'));
  });
});
