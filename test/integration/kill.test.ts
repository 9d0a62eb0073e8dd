/**
 * Nothing lost when the run is killed: a multi-site push from files outside the live folder, stopped by SIGTERM or
 * SIGKILL at a random moment after its first upload started, then `sync`: every site ends with the certificate.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI, runCli, tempDir } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

const SITES = ['101', '102', '103', '104', '105', '106'];
let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
});

let world: World | undefined;
after(() => world?.close());

async function killedPush(signal: NodeJS.Signals, afterMs: number) {
  await world?.close();
  world = await createWorld({
    sites: Object.fromEntries(SITES.map((id) => [id, 'example.com'])),
    map: { 'example.com': SITES.map(Number) },
    config: { concurrency: 2 },
  });
  world.fake.latencyMs = 40;
  // The certificate comes from files outside the live folder (acme.sh, lego, dehydrated, push --cert/--key).
  const lineage = writeCertbotLineage(join(world.dir, 'elsewhere'), 'example.com', leaf);
  const child = spawn(
    process.execPath,
    [CLI, 'push', '--cert', join(lineage, 'fullchain.pem'), '--key', join(lineage, 'privkey.pem')],
    { env: { PATH: process.env.PATH, ...world.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('close', (code, sig) => resolve([code, sig])),
  );
  // A random moment after the first upload reached Imperva.
  const fake = world.fake;
  while (fake.uploads().length === 0 && child.exitCode === null) await sleep(2);
  await sleep(afterMs);
  child.kill(signal);
  const [code, sig] = await exited;
  return { code, sig, stderr, world };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a push killed at any moment loses nothing', () => {
  const rounds: [NodeJS.Signals, number][] = [];
  for (let round = 0; round < 16; round += 1)
    rounds.push([round % 2 === 0 ? 'SIGTERM' : 'SIGKILL', (round * 37) % 160]);
  for (const [signal, afterMs] of rounds) {
    it(`${signal} ${afterMs} ms after the first upload, then sync: every site has the certificate`, async () => {
      const { code, sig, stderr, world: w } = await killedPush(signal, afterMs);
      if (signal === 'SIGTERM') {
        // Settled and exited with the conventional code, or finished before the signal came (a signal that lands
        // while node is already exiting ends it by the signal itself: every site was delivered by then).
        const finished = w.fake.acceptedUploads().length === SITES.length;
        assert.ok(
          code === 143 || code === 0 || (sig === 'SIGTERM' && finished),
          `exit ${code} ${sig}: ${stderr}`,
        );
        assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
      }
      const sync = await runCli(['sync', '--live-dir', tempDir()], w.env);
      // The certificate is in no folder this host's config names: sync says so (exit 1), and delivers it all the same.
      assert.ok(sync.code === 0 || sync.code === 1, `${sync.stdout}${sync.stderr}`);
      for (const line of sync.stderr.trimEnd().split('\n').filter(Boolean)) {
        assert.match(
          line,
          /^warning: (no certificate lineages in |site 10\d \(example\.com\): no certificate on this host)/,
        );
      }
      for (const id of SITES) assert.equal(w.fake.serving(id)?.fingerprint, leaf.fingerprint, `site ${id}`);
      // And nothing is left owed.
      assert.equal(
        (await runCli(['sync', '--live-dir', tempDir()], w.env)).stdout.includes('uploaded'),
        false,
      );
    });
  }
});
