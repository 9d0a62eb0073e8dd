/**
 * The CA's schedule (ARI) is bounded by the run, through the built CLI: a CA that never answers does not keep a
 * run past its deadline (before, each question waited its own 10 s), the line says the CA was not asked, and
 * SIGTERM ends a question at once (before, the run sat in it until the 5 s grace killed it), leaving no state file
 * half-written.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { createAriWorld, type AriWorld } from '../support/ari-world.js';
import { runTimed } from '../support/held-locks.js';
import { createPki, type Pki } from '../support/pki.js';

let pki: Pki | undefined;
let made: AriWorld | undefined;
afterEach(async () => {
  await made?.world.close();
  await made?.ca.close();
  made = undefined;
});

/** What is left in the state folder that is not a whole file of ours: temp files of a write cut short. */
function halfWritten(stateDir: string): string[] {
  return existsSync(stateDir) ? readdirSync(stateDir).filter((name) => name.endsWith('.tmp')) : [];
}

describe('the CA schedule within the run', () => {
  it('a CA that never answers: sync ends by its deadline and says the CA was not asked', async () => {
    pki ??= await createPki();
    made = await createAriWorld(pki, 90, 10, { config: { deadlineSeconds: 3 } });
    const { world, ca, liveDir } = made;
    ca.silent = true;
    const run = await runTimed(['sync', '-v', '--live-dir', liveDir], world.env);
    assert.equal(run.killed, false, run.stderr);
    assert.ok(run.ms < 8_000, `the run outlived its 3 s deadline waiting for the CA: ${run.ms} ms`);
    assert.ok(ca.requests.length > 0, 'the CA was reached');
    assert.match(
      `${run.stdout}${run.stderr}`,
      /schedule: .*example\.com: renewal window .*from the lifetime .*not asked: the run's deadline came/,
    );
    // The next run asks at once: no pause was recorded for a question that was not asked.
    const cache = JSON.parse(readFileSync(join(world.stateDir, 'ari.json'), 'utf8')) as {
      records: { nextAt: string }[];
    };
    assert.ok(cache.records.every((record) => Date.parse(record.nextAt) <= Date.now()));
  });

  it('SIGTERM while the CA is asked: the run ends at once, nothing half-written', async () => {
    pki ??= await createPki();
    made = await createAriWorld(pki, 90, 10);
    const { world, ca, liveDir } = made;
    ca.silent = true;
    const run = await runTimed(['status', '--json', '--live-dir', liveDir], world.env, {
      signalWhen: () => ca.requests.length > 0,
    });
    assert.equal(run.killed, false, run.stderr);
    assert.ok(run.afterSignalMs !== undefined, 'the CA was never asked');
    assert.ok(
      run.afterSignalMs < 3_000,
      `the run sat in the CA's question ${run.afterSignalMs} ms after SIGTERM`,
    );
    assert.equal(run.code, 143, run.stderr);
    assert.deepEqual(halfWritten(world.stateDir), []);
    const cacheFile = join(world.stateDir, 'ari.json');
    // Written whole, or not at all.
    if (existsSync(cacheFile)) JSON.parse(readFileSync(cacheFile, 'utf8'));
  });
});
