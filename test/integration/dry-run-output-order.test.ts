/**
 * A mapped `deploy --dry-run` over thousands of sites writes one line per site to stdout. When stdout is a
 * non-blocking pipe whose reader is slower (EAGAIN), a terminal, or a reader that leaves: every line must still come
 * out once, whole, in order, and the exit code stand.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

const COUNT = 5000;
let world: World;
let lineage: string;
before(async () => {
  world = await createWorld();
  lineage = writeCertbotLineage(
    join(world.dir, 'le'),
    'example.com',
    await issueLeaf(await createPki(), { names: ['example.com'] }),
  );
  const config = JSON.parse(readFileSync(world.configFile, 'utf8')) as Record<string, unknown>;
  const ids = Array.from({ length: COUNT }, (_, index) => 100_001 + index);
  writeFileSync(world.configFile, JSON.stringify({ ...config, sites: { 'example.com': ids } }), {
    mode: 0o600,
  });
});
after(() => world?.close());

/** The CLI with its stdout made non-blocking (O_NONBLOCK on the pipe) before node starts; read late, in bursts. */
function runNonBlocking(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const wrapper = [
    'import fcntl, os, sys',
    'flags = fcntl.fcntl(1, fcntl.F_GETFL)',
    'fcntl.fcntl(1, fcntl.F_SETFL, flags | os.O_NONBLOCK)',
    'os.execv(sys.argv[1], sys.argv[1:])',
  ].join('\n');
  const child = spawn('python3', ['-c', wrapper, process.execPath, CLI, ...args], {
    env: { PATH: process.env.PATH, ...world.env, RENEWED_LINEAGE: lineage },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // The reader starts late and reads slowly: the writer fills the pipe first (this only makes EAGAIN likely; the
  // assertions are on what comes out, never on time).
  child.stdout.pause();
  setTimeout(() => child.stdout.resume(), 300);
  const out: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out.push(chunk);
    child.stdout.pause();
    setTimeout(() => child.stdout.resume(), 1);
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) =>
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr })),
  );
}

describe('dry-run output to a slow non-blocking pipe, a terminal, a reader that leaves', () => {
  it(`a mapped dry run over ${COUNT} sites: every line once, whole, in order; exit 0`, async () => {
    const result = await runNonBlocking(['deploy', '--dry-run']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const lines = result.stdout.split('\n');
    assert.equal(lines.pop(), '', 'the output does not end with a whole line');
    const sites = lines.map((line) => / site (\d+)$/.exec(line)?.[1] ?? `?${line}`);
    const expected = Array.from({ length: COUNT }, (_, index) => String(100_001 + index));
    assert.equal(sites.length, COUNT, 'lines lost or repeated');
    assert.deepEqual(sites, expected);
    assert.equal(new Set(lines.map((line) => line.replace(/ site \d+$/, ''))).size, 1, 'a line was cut');
  });

  it(`a mapped dry run over ${COUNT} sites to a pipe whose reader leaves after one line: exit 0, nothing said`, () => {
    const result = spawnSync('/bin/sh', ['-c', '$CLI deploy --dry-run | head -n 1'], {
      env: {
        PATH: process.env.PATH,
        ...world.env,
        RENEWED_LINEAGE: lineage,
        CLI: `${process.execPath} ${CLI}`,
      },
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.match(result.stdout, /^dry run: would upload example\.com .* site 100001\n$/);
  });

  it(`a mapped dry run over ${COUNT} sites to a terminal: every line once, in order; exit 0`, (t) => {
    if (spawnSync('script', ['--version']).error !== undefined) return t.skip('no script(1) here');
    const result = spawnSync(
      'script',
      ['-qec', `${process.execPath} ${CLI} deploy --dry-run; echo "exit $?"`, '/dev/null'],
      { env: { PATH: process.env.PATH, ...world.env, RENEWED_LINEAGE: lineage }, encoding: 'utf8' },
    );
    const lines = result.stdout
      .replaceAll('\r', '')
      .split('\n')
      .filter((line) => line !== '');
    assert.equal(lines.pop(), 'exit 0', result.stdout.slice(-500));
    assert.deepEqual(
      lines.map((line) => / site (\d+)$/.exec(line)?.[1] ?? `?${line}`),
      Array.from({ length: COUNT }, (_, index) => String(100_001 + index)),
    );
  });
});
