/**
 * A run asked to stop (SIGTERM) while another command holds the metrics file's lock stops waiting at once, as the
 * waits for the queue's and the delivery record's locks do: it says that it left its samples out and exits with the
 * command's own outcome (its work was done before the signal came; main decides the exit code before the metrics),
 * instead of waiting on until the signal handler's grace ends the process with 143. Through the built CLI; the lock
 * is held by this test process, with the code every command takes it with.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { withLock } from '../../src/state/lock.js';
import { CLI } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
let world: World | undefined;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
});
after(() => world?.close());

/** How long after its first signal a run that has not settled is ended anyway (src/main.ts stopOnSignals). */
const GRACE_MS = 5_000;

describe('the metrics file lock and the stop signal', () => {
  it('status stopped while another command holds the metrics lock: ends at once, the samples left out', async () => {
    world = await createWorld({ sites: { '1234567': 'example.com' }, map: { 'example.com': 1234567 } });
    const le = join(world.dir, 'le');
    writeCertbotLineage(le, 'example.com', leaf);
    mkdirSync(join(world.dir, 'metrics'));
    const metrics = join(world.dir, 'metrics', 'incap-cert.prom');
    let release = () => {};
    let held = () => {};
    const isHeld = new Promise<void>((resolve) => (held = resolve));
    const holding = withLock(
      `${metrics}.lock`,
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
          held();
        }),
    );
    try {
      await isHeld;
      const child = spawn(
        process.execPath,
        [CLI, 'status', '--live-dir', join(le, 'live'), '--metrics-file', metrics],
        { env: { PATH: process.env.PATH, ...world.env }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.on('close', (exit, by) => resolve([exit, by])),
      );
      // The table is printed when the command is done: the metrics come next, behind the lock this test holds.
      while (!/^SITE /m.test(stdout) && child.exitCode === null)
        await new Promise((resolve) => setTimeout(resolve, 20));
      const stoppedAt = Date.now();
      child.kill('SIGTERM');
      const [exit, by] = await closed;
      const took = Date.now() - stoppedAt;
      assert.equal(by, null, 'exits on its own, not killed by the signal');
      // status's own outcome: the site has no certificate at Imperva yet (missing).
      assert.match(stdout, /^1234567 .* missing /m);
      assert.equal(exit, 1, stdout + stderr);
      assert.match(
        stderr,
        /^warning: cannot write the metrics file: .*the run was asked to stop while it waited for lock .*incap-cert\.prom\.lock/m,
      );
      assert.doesNotMatch(stderr, /^\s+at /m);
      assert.ok(took < GRACE_MS - 1_000, `stopped after ${took} ms: it waited on for the lock`);
      assert.equal(existsSync(metrics), false, 'nothing written under another command’s lock');
    } finally {
      release();
      await holding;
    }
  });
});
