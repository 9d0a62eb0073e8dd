/**
 * The onFailure command through the built CLI: one that others could have written is not run (one error line), and
 * one that leaves a background child holding its output cannot hold the hook open.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runGuarded } from '../support/guarded-run.js';
import { tempDir } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { assertNoSecrets, createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
});

let world: World;
afterEach(() => world?.close());
after(() => world?.close());

async function failingDeploy(onFailure: string[]) {
  world = await createWorld({ map: { 'example.com': 1234567 }, config: { onFailure } });
  world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { res: 9415 } });
  const live = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
  // The guard is above the command's own 60 s limit: a run that waits for it fails on the warning, not the guard.
  const result = await runGuarded(['deploy'], {
    env: { ...world.env, RENEWED_LINEAGE: live },
    guardMs: 120_000,
  });
  assert.equal(result.hung, false);
  return result;
}

describe('onFailure through the CLI', () => {
  it('a program in a folder others can write is not run: exit 1 for the site, one line says why', async () => {
    const dir = join(tempDir(), 'hooks');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const marker = join(dir, 'ran');
    const hook = join(dir, 'notify.sh');
    writeFileSync(hook, `#!/bin/sh\ntouch '${marker}'\n`);
    chmodSync(hook, 0o755);
    const result = await failingDeploy([hook]);
    assert.equal(result.code, 1);
    assert.equal(existsSync(marker), false, 'the program ran');
    const lines = result.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 2, result.stderr);
    assert.match(
      lines[0] ?? '',
      /^error: site 1234567 \(example\.com\): upload failed: Imperva answered res 9415/,
    );
    assert.equal(
      lines[1],
      `error: onFailure command ${hook} is not run: ${dir} is writable by group or others (mode 0777); run: chmod go-w ${dir}`,
    );
    assert.doesNotMatch(result.stderr, /^\s+at /m);
    assert.deepEqual(
      (JSON.parse(readFileSync(world.queueFile, 'utf8')) as { entries: { siteId: string }[] }).entries.map(
        (entry) => entry.siteId,
      ),
      ['1234567'],
    );
  });

  it('a program that leaves a background child holding its output does not hold the hook open', async () => {
    const dir = tempDir();
    const pidFile = join(dir, 'pid');
    const input = join(dir, 'input');
    const hook = join(dir, 'notify.sh');
    writeFileSync(hook, `#!/bin/sh\ncat > '${input}'\nsleep 1000 &\necho $! > '${pidFile}'\n`);
    chmodSync(hook, 0o755);
    try {
      const result = await failingDeploy([hook]);
      assert.equal(result.code, 1);
      assert.doesNotMatch(result.stderr, /onFailure/, 'no warning: it exited 0 and was not waited for');
      const summary = JSON.parse(readFileSync(input, 'utf8')) as { sites: { siteId: string }[] };
      assert.deepEqual(
        summary.sites.map((site) => site.siteId),
        ['1234567'],
      );
      assertNoSecrets({ input: readFileSync(input, 'utf8') }, [world.apiKey]);
    } finally {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      } catch {
        // gone
      }
    }
  });
});
