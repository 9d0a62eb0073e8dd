/**
 * Output failures never hide a failed site: with stdout or stderr closed or full (/dev/full), or a log file whose
 * writes fail, the run still uploads every site, queues the failure, exits 1, and prints no stack trace.
 */
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runGuarded, type GuardedOptions } from '../support/guarded-run.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com', 'www.example.com'] });
});

let world: World;
afterEach(() => world?.close());
after(() => world?.close());

const STACK = /^\s+at |Error: ENOSPC|node:internal/m;

function queuedSites(w: World): string[] {
  if (!existsSync(w.queueFile)) return [];
  return (JSON.parse(readFileSync(w.queueFile, 'utf8')) as { entries: { siteId: string }[] }).entries.map(
    (entry) => entry.siteId,
  );
}

describe('output that cannot be written', () => {
  const modes: { title: string; options: (full: number) => GuardedOptions; args?: string[] }[] = [
    { title: 'stdout is /dev/full', options: (full) => ({ stdout: full }) },
    { title: 'stderr is /dev/full', options: (full) => ({ stderr: full }) },
    { title: 'stdout and stderr are /dev/full', options: (full) => ({ stdout: full, stderr: full }) },
    { title: 'stdout is closed', options: () => ({ shell: '$CLI "$@" >&-' }) },
    { title: 'stderr is closed', options: () => ({ shell: '$CLI "$@" 2>&-' }) },
    { title: 'stdout and stderr are closed', options: () => ({ shell: '$CLI "$@" >&- 2>&-' }) },
    {
      title: 'the log file is on a full disk (/dev/full)',
      options: () => ({}),
      args: ['--verbose', '--log-file', '/dev/full'],
    },
    {
      title: 'stdout is /dev/full and the log file is on a full disk',
      options: (full) => ({ stdout: full }),
      args: ['--verbose', '--log-file', '/dev/full'],
    },
  ];
  for (const mode of modes) {
    it(`${mode.title}: every site is tried, the failure queued, exit 1, no stack trace`, async () => {
      world = await createWorld();
      world.fake.inject({
        endpoint: 'upload',
        siteId: '7654321',
        times: Infinity,
        fault: { status: 500, body: '<html>down</html>' },
      });
      const live = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
      const full = openSync('/dev/full', 'w');
      try {
        const result = await runGuarded(['deploy', ...(mode.args ?? [])], {
          env: { ...world.env, RENEWED_LINEAGE: live },
          ...mode.options(full),
        });
        assert.equal(result.hung, false, 'the run hung');
        assert.equal(result.signal, null);
        assert.equal(result.code, 1, result.stderr);
        assert.doesNotMatch(result.stdout + result.stderr, STACK);
        assert.equal(world.fake.acceptedUploads().length, 1, 'the good site got its certificate');
        assert.equal(world.fake.uploads().filter((upload) => upload.siteId === '7654321').length, 4);
        assert.deepEqual(queuedSites(world), ['7654321']);
      } finally {
        closeSync(full);
      }
    });
  }

  it('an unmapped hook run with stdout on /dev/full still exits 0, no stack trace', async () => {
    world = await createWorld();
    const other = await issueLeaf(await createPki(), { names: ['unmapped.example.net'] });
    const live = writeCertbotLineage(join(world.dir, 'le'), 'unmapped.example.net', other);
    const full = openSync('/dev/full', 'w');
    try {
      const result = await runGuarded(['deploy'], {
        env: { ...world.env, RENEWED_LINEAGE: live },
        stdout: full,
      });
      assert.equal(result.hung, false);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stderr, '');
    } finally {
      closeSync(full);
    }
  });
});

describe('the log file is opened without following symlinks', () => {
  it('a symlinked log path: one warning on the console, the target untouched, the run carries on', async () => {
    world = await createWorld({ map: { 'example.com': 1234567 } });
    const live = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const target = join(world.dir, 'shadow');
    writeFileSync(target, 'root:x:0:0::/root:/bin/sh\n', { mode: 0o644 });
    const logFile = join(world.dir, 'incap-cert.log');
    symlinkSync(target, logFile);
    const result = await runGuarded(['deploy', '--log-file', logFile], {
      env: { ...world.env, RENEWED_LINEAGE: live },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stderr,
      `warning: log file ${logFile} is a symlink; it is not followed (root writes there); logging to the console only\n`,
    );
    assert.match(result.stdout, /uploaded example\.com → site 1234567/);
    assert.equal(readFileSync(target, 'utf8'), 'root:x:0:0::/root:/bin/sh\n');
    assert.equal(world.fake.acceptedUploads().length, 1);
  });
});
