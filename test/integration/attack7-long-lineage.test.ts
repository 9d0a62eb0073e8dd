/**
 * The ARI cache writes only what its reader accepts, but the reader took a lineage name of at most 255 characters,
 * and a lineage of a client other than Certbot is named by its certificate file's path (lego's
 * `PATH/certificates/NAME.crt`, acme.sh's `HOME/DOMAIN_ecc/fullchain.cer`), which may be longer. Such a lineage's
 * state was never kept: onFailure was called again on every sync for the same late certificate (the once-per-change
 * rule lost), and its record was never written.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, before, describe, it } from 'node:test';
import { writeLego } from '../support/client-layouts.js';
import { runCli, tempDir } from '../support/harness.js';
import { createPki, issueLeaf, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

const DAY = 86_400_000;
let leaf: Leaf;
before(async () => {
  const pki = await createPki();
  const now = Date.now();
  // Six days long, issued five days ago: past the time a client should have renewed it.
  leaf = await issueLeaf(pki, {
    names: ['example.com'],
    notBefore: new Date(now - 5 * DAY),
    notAfter: new Date(now + DAY),
  });
});
let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

describe('a lineage named by a path longer than 255 characters', () => {
  it('sync: onFailure once for a late certificate, not on every run; its state is kept in ari.json', async () => {
    const hookDir = join(tempDir(), 'hook');
    mkdirSync(hookDir, { mode: 0o755 });
    const hook = join(hookDir, 'notify');
    const calls = join(hookDir, 'calls');
    writeFileSync(hook, `#!/bin/sh\ncat >> '${calls}'\necho '@@' >> '${calls}'\n`, { mode: 0o755 });
    chmodSync(hook, 0o755);
    const base = tempDir();
    const deep = join(
      base,
      ...Array.from({ length: 6 }, (_, index) => `${'lego-data-folder'.repeat(2)}-${index}`),
    );
    mkdirSync(deep, { recursive: true, mode: 0o755 });
    const lego = join(deep, '.lego');
    const files = writeLego(lego, 'example.com', leaf);
    assert.ok(files.cert.length > 255, `${files.cert.length} characters`);
    world = await createWorld({
      sites: { '1234567': 'example.com' },
      map: { 'example.com': 1234567 },
      config: { sources: { lego: [lego] }, onFailure: [hook] },
    });
    const liveDir = join(world.dir, 'no-certbot');
    mkdirSync(liveDir);
    const summaries = () =>
      existsSync(calls)
        ? readFileSync(calls, 'utf8')
            .split('@@')
            .filter((line) => line.trim() !== '')
            .map((line) => JSON.parse(line) as { lineages?: { lineage: string; state: string }[] })
        : [];
    const first = await runCli(['sync', '--live-dir', liveDir], world.env);
    assert.match(first.stderr, /schedule: problem: /, first.stderr);
    assert.equal(summaries().length, 1, first.stderr);
    assert.deepEqual(
      summaries()[0]?.lineages?.map((one) => one.lineage),
      [files.cert],
    );
    const second = await runCli(['sync', '--live-dir', liveDir], world.env);
    assert.match(second.stderr, /schedule: problem: /);
    assert.equal(summaries().length, 1, `onFailure called again for the same state:\n${second.stderr}`);
    const cache = JSON.parse(readFileSync(join(world.stateDir, 'ari.json'), 'utf8')) as {
      states: Record<string, string>;
    };
    assert.ok(Object.keys(cache.states).includes(files.cert), JSON.stringify(cache.states));
  });
});
