/**
 * readQueueText reads a state file within its bound: a file at the bound is read, one past it is refused, and one
 * whose size the file system does not tell (/proc's report 0) is refused having read no more than one byte past
 * the bound — never read whole to learn its size.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readQueueText } from '../../src/state/queue-file.js';
import { tempDir } from '../support/harness.js';

/** Bytes this process has read so far (/proc/self/io `rchar`). */
function bytesRead(): number {
  return Number(/^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1]);
}

describe('readQueueText', () => {
  it('reads a file of exactly the bound, and refuses one byte more', async () => {
    const file = join(tempDir(), 'queue.json');
    writeFileSync(file, 'x'.repeat(1024), { mode: 0o600 });
    assert.deepEqual(await readQueueText(file, 1024), { text: 'x'.repeat(1024) });
    writeFileSync(file, 'x'.repeat(1025), { mode: 0o600 });
    const refused = await readQueueText(file, 1024);
    assert.ok(refused !== undefined && 'unusable' in refused, JSON.stringify(refused));
    assert.match(refused.unusable, /larger than/);
  });

  it('reads no more than the bound and a byte of a file whose size is not told', async () => {
    const file = '/proc/self/smaps';
    // Its size reads as 0; what it holds is far past the bound.
    assert.ok(readFileSync(file).length > 64 * 1024, 'a large enough /proc file');
    const before = bytesRead();
    const read = await readQueueText(file, 1024);
    const spent = bytesRead() - before;
    assert.ok(read !== undefined && 'unusable' in read, JSON.stringify(read));
    assert.match(read.unusable, /larger than/);
    assert.ok(spent < 16 * 1024, `read ${spent} bytes to refuse it`);
  });
});
