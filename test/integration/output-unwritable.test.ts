/**
 * Output that cannot be written (stdout full, closed, a reader gone) is dropped behind the streams' guard
 * (src/log/guard.ts): exit code kept, nothing else said, no stack trace.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runGuarded, type GuardedOptions } from '../support/guarded-run.js';
import { CLI } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Pki } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let world: World;
let pki: Pki;
before(async () => {
  world = await createWorld();
  pki = await createPki();
});
after(() => world?.close());

describe('output that cannot be written', () => {
  const modes: { title: string; options: (full: number) => GuardedOptions }[] = [
    { title: 'stdout is /dev/full', options: (full) => ({ stdout: full }) },
    { title: 'stdout is closed', options: () => ({ shell: '$CLI "$@" >&-' }) },
    { title: 'stdout and stderr are closed', options: () => ({ shell: '$CLI "$@" >&- 2>&-' }) },
  ];
  for (const mode of modes) {
    it(`${mode.title}: --version, an unmapped hook run and a mapped dry run exit 0, nothing else said`, async () => {
      const unmapped = writeCertbotLineage(
        join(world.dir, 'le'),
        'unmapped.example.net',
        await issueLeaf(pki, { names: ['unmapped.example.net'] }),
      );
      const mapped = writeCertbotLineage(
        join(world.dir, 'le'),
        'example.com',
        await issueLeaf(pki, { names: ['example.com'] }),
      );
      const full = openSync('/dev/full', 'w');
      try {
        for (const [args, lineage] of [
          [['--version'], unmapped],
          [['deploy'], unmapped],
          [['deploy', '--dry-run'], mapped],
        ] as const) {
          const result = await runGuarded(args, {
            env: { ...world.env, RENEWED_LINEAGE: lineage },
            ...mode.options(full),
          });
          assert.equal(result.hung, false, `${args.join(' ')} hung`);
          assert.equal(result.signal, null);
          assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
          assert.equal(result.stderr, '', `${args.join(' ')} said something on stderr`);
        }
        assert.equal(world.fake.requests.length, 0);
      } finally {
        closeSync(full);
      }
    });
  }

  it('stdout is a pipe whose reader is gone (EPIPE): an unmapped hook run exits 0, nothing else said', async () => {
    const unmapped = writeCertbotLineage(
      join(world.dir, 'le'),
      'unmapped.example.net',
      await issueLeaf(pki, { names: ['unmapped.example.net'] }),
    );
    const child = spawn(process.execPath, [CLI, 'deploy'], {
      env: { PATH: process.env.PATH, ...world.env, RENEWED_LINEAGE: unmapped },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on('close', (exit, by) => resolve([exit, by])),
    );
    assert.equal(signal, null);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
  });
});
