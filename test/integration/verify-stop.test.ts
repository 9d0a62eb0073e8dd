/**
 * `verify --wait` stopped while it waits between rounds: the wait ends at once and the run reports what it saw
 * (exit 128 + the signal's number), rather than being cut off by the 5 s watchdog with nothing said.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FakeEdge } from '../support/fake-edge.js';
import { CLI, runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let world: World | undefined;
let edge: FakeEdge | undefined;
after(async () => {
  await edge?.close();
  await world?.close();
});

describe('verify --wait, stopped between rounds', () => {
  it('SIGTERM: the wait ends, the stale site is reported, exit 143', async () => {
    world = await createWorld({ sites: { '1234567': 'example.com' }, map: { 'example.com': 1234567 } });
    // The upload never shows at the edge during this test.
    edge = await FakeEdge.start({ imperva: world.fake, propagationMs: 3_600_000, own: 'site' });
    const le = join(world.dir, 'le');
    const env = { ...world.env, INCAP_CERT_EDGE: edge.address };
    const lineage = writeCertbotLineage(
      le,
      'example.com',
      await issueLeaf(await createPki(), { names: ['example.com'] }),
    );
    assert.equal((await runCli(['deploy'], { ...env, RENEWED_LINEAGE: lineage })).code, 0);
    // Without a record of the upload, the site is stale rather than pending (uploaded within the verify grace).
    rmSync(join(world.stateDir, 'delivered.json'));
    const child = spawn(process.execPath, [CLI, 'verify', '--wait', '600', '--live-dir', join(le, 'live')], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Once the first round has been reported the run is waiting for the next (no assumption about how long).
    while (!/waiting for \d+ more/.test(stdout)) await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGTERM');
    const code = await closed;
    assert.equal(code, 143, stderr);
    assert.match(
      stderr,
      /^error: site 1234567 \(example\.com\) ECDSA: stale: /m,
      'the site it saw, reported',
    );
    assert.doesNotMatch(stdout + stderr, /^\s+at /m);
  });
});
