/**
 * Something at queue.lock that is not a lock (a FIFO) is set aside once and the lock taken: with many runs arriving
 * at once (a Certbot renewal of many lineages beside the timer's run), each saw the FIFO, and those that lost the
 * race renamed what was at the path by then — the lock a live run had just taken — so two held the queue at once,
 * or failed with the FIFO's refusal after it was already gone. Only what was judged is set aside, by one run.
 */
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { build } from 'esbuild';
import { ROOT, tempDir } from '../support/harness.js';

const WRITERS = 24;
const ROUNDS = 3;
let bundle: string;

before(async () => {
  bundle = join(tempDir(), 'lock-writer.mjs');
  await build({
    entryPoints: [join(ROOT, 'test/support/lock-contender.ts')],
    outfile: bundle,
    bundle: true,
    platform: 'node',
    format: 'esm',
    logLevel: 'warning',
  });
});

function run(args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bundle, ...args], { stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('close', resolve);
  });
}

describe('a FIFO at the lock, set aside while many runs arrive at once', () => {
  for (let round = 1; round <= ROUNDS; round += 1) {
    it(`${WRITERS} runs: every one gets the lock, one at a time; the FIFO alone is set aside, once (round ${round})`, async () => {
      const dir = tempDir();
      const lockFile = join(dir, 'queue.lock');
      const counter = join(dir, 'counter');
      const journal = join(dir, 'journal');
      writeFileSync(counter, '0');
      writeFileSync(journal, '');
      execFileSync('mkfifo', [lockFile]);
      const startAt = String(Date.now() + 1_500);
      const codes = await Promise.all(
        Array.from({ length: WRITERS }, () => run([lockFile, counter, journal, startAt, 'aside'])),
      );
      const lines = readFileSync(journal, 'utf8').trim().split('\n');
      const held = lines.filter((line) => !line.startsWith('aside '));
      for (let index = 0; index < held.length; index += 2) {
        assert.equal(
          held[index + 1],
          `-${(held[index] ?? '').slice(1)}`,
          `two held the lock at once: ${held.slice(index, index + 4).join(',')}`,
        );
      }
      assert.deepEqual(codes, Array(WRITERS).fill(0), `every run got the lock:\n${lines.join('\n')}`);
      assert.equal(Number(readFileSync(counter, 'utf8')), WRITERS, 'updates lost');
      const asides = readdirSync(dir).filter((name) => name.startsWith('queue.lock.rejected-'));
      assert.equal(asides.length, 1, `set aside: ${asides.join(', ')}`);
      assert.ok(lstatSync(join(dir, asides[0] ?? '')).isFIFO(), 'what was set aside is the FIFO');
      assert.equal(lines.filter((line) => line.startsWith('aside ')).length, 1, lines.join('\n'));
    });
  }
});
