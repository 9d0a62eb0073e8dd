/**
 * SIGTERM while one of this round's new calls hangs (the key's record, Imperva's own certificates): the command
 * exits 143 on its own, at once, with no stack trace, and --json still prints one document.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { CLI, runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
let other: Leaf;
let world: World | undefined;
before(async () => {
  const pki = await createPki();
  leaf = await issueLeaf(pki, { names: ['example.com'], keyType: 'ec' });
  other = await issueLeaf(pki, { names: ['other.example.org'], keyType: 'ec' });
});
afterEach(() => world?.close());
after(() => world?.close());

const CASES = [
  ['status', 'api-clients'],
  ['check', 'api-clients'],
  ['sync', 'api-clients'],
  ['status', 'own-certificates'],
  ['remove', 'own-certificates'],
] as const;

describe('SIGTERM during a new call', () => {
  for (const [command, endpoint] of CASES) {
    it(`${command}, while ${endpoint} hangs: exit 143, one --json document`, async () => {
      world = await createWorld({
        sites: { '1234567': 'example.com' },
        map: { 'example.com': 1234567 },
        config: { ari: false },
      });
      const w = world;
      writeCertbotLineage(join(w.dir, 'le'), 'example.com', leaf);
      const live = join(w.dir, 'le', 'live');
      assert.equal((await runCli(['sync', '--live-dir', live], w.env)).code, 0);
      w.fake.keyRecord = 'ok';
      w.fake.requests.length = 0;
      if (command === 'remove') {
        // This host no longer deploys it (another lineage keeps the live folder readable): remove asks whether
        // Imperva's own certificate would be left.
        writeCertbotLineage(join(w.dir, 'le'), 'other.example.org', other);
        rmSync(join(live, 'example.com'), { recursive: true });
      }
      // A site with no fallback, so that status and remove ask for the listing.
      w.fake.own.clear();
      w.fake.inject({ endpoint, times: Infinity, fault: { hang: true } });
      const args =
        command === 'remove'
          ? ['remove', '--site-id', '1234567', '--auth-type', 'ECC', '--live-dir', live, '--json']
          : [command, '--live-dir', live, '--json'];
      const child = spawn(process.execPath, [CLI, ...args], {
        env: { PATH: process.env.PATH, ...w.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      while (!w.fake.requests.some((request) => request.endpoint === endpoint)) {
        if (child.exitCode !== null) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      child.kill('SIGTERM');
      const code = await closed;
      assert.ok(
        w.fake.requests.some((request) => request.endpoint === endpoint),
        `${endpoint} was asked: ${stderr}`,
      );
      assert.equal(code, 143, stderr);
      assert.doesNotMatch(stderr, /internal error|^\s+at /m);
      const doc = JSON.parse(stdout) as { ok: boolean };
      assert.equal(doc.ok, false);
    });
  }
});
