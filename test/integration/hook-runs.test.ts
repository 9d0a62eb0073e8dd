/**
 * The hook's runs through the built CLI, on the same path as every other run: an unmapped lineage is one line and
 * exit 0 and records when it ran (not a success: an unmapped lineage after a failed one must not hide the failure);
 * a mapped dry run prints one line per site; the metrics and log files are opened without following a link or
 * blocking on a FIFO.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Pki } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let world: World;
let pki: Pki;
let unmapped: string;
let mapped: string;
before(async () => {
  world = await createWorld();
  pki = await createPki();
  unmapped = writeCertbotLineage(
    join(world.dir, 'le'),
    'unmapped.example.org',
    await issueLeaf(pki, { names: ['unmapped.example.org', 'www.unmapped.example.org'] }),
  );
  mapped = writeCertbotLineage(
    join(world.dir, 'le'),
    'example.com',
    await issueLeaf(pki, { names: ['example.com'] }),
  );
});
after(() => world?.close());

const mkfifo = (path: string) => execFileSync('mkfifo', [path]);

describe('a hook run', () => {
  it('unmapped: one line, exit 0; --version; a mapped dry run: one line, nothing sent', async () => {
    const quiet = await runCli([], { ...world.env, RENEWED_LINEAGE: unmapped });
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(
      quiet.stdout,
      'no Imperva site is mapped to unmapped.example.org, www.unmapped.example.org; nothing to upload\n',
    );
    assert.equal(quiet.stderr, '');
    const version = await runCli(['--version']);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(version.stdout, `incap-cert ${pkg.version}\n`);
    const dry = await runCli(['deploy', '--dry-run'], { ...world.env, RENEWED_LINEAGE: mapped });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /^dry run: would upload example\.com \(ECDSA, sha256 [0-9a-f]{16}….* → site 1234567\n$/,
    );
    assert.equal(world.fake.requests.length, 0);
  });

  it('unmapped after a failed one: records the run time, the failure stands', async () => {
    const file = join(world.dir, 'metrics', 'incap-cert.prom');
    world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { status: 500, body: 'down' } });
    const failed = await runCli(['--metrics-file', file], { ...world.env, RENEWED_LINEAGE: mapped });
    assert.equal(failed.code, 1, failed.stderr);
    const before = readFileSync(file, 'utf8');
    assert.match(before, /^incap_cert_last_run_success\{command="deploy"\} 0$/m);
    const stamp = (text: string) =>
      Number(/^incap_cert_last_run_timestamp_seconds\{command="deploy"\} (\S+)$/m.exec(text)?.[1]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const quiet = await runCli(['deploy', '--metrics-file', file], {
      ...world.env,
      RENEWED_LINEAGE: unmapped,
    });
    assert.equal(quiet.code, 0, quiet.stderr);
    const afterwards = readFileSync(file, 'utf8');
    assert.match(afterwards, /^incap_cert_last_run_success\{command="deploy"\} 0$/m);
    assert.ok(stamp(afterwards) > stamp(before), 'the unmapped run did not record its time');
  });

  it('unmapped, first of all: records the run time and no success', async () => {
    const file = join(world.dir, 'fresh.prom');
    const quiet = await runCli(['--metrics-file', file], { ...world.env, RENEWED_LINEAGE: unmapped });
    assert.equal(quiet.code, 0, quiet.stderr);
    const text = readFileSync(file, 'utf8');
    assert.match(text, /^incap_cert_last_run_timestamp_seconds\{command="deploy"\} \d/m);
    assert.doesNotMatch(text, /incap_cert_last_run_success/);
  });
});

describe('the metrics and log files are not followed or blocked on', () => {
  it('a FIFO or a symlink at the metrics path: a warning, the run stands, nothing written through', async () => {
    const fifo = join(world.dir, 'fifo.prom');
    mkfifo(fifo);
    const target = join(world.dir, 'elsewhere.prom');
    writeFileSync(target, 'theirs\n');
    const link = join(world.dir, 'link.prom');
    symlinkSync(target, link);
    for (const [file, said] of [
      [fifo, 'is not a regular file'],
      [link, 'is a symlink; it is not followed'],
    ] as const) {
      const result = await runCli(['--metrics-file', file], { ...world.env, RENEWED_LINEAGE: unmapped });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(
        result.stderr,
        `warning: cannot write the metrics file: metrics file ${file} ${said}${said.startsWith('is a symlink') ? ' (root writes there)' : ''}\n`,
      );
    }
    assert.ok(lstatSync(fifo).isFIFO());
    assert.ok(lstatSync(link).isSymbolicLink());
    assert.equal(readFileSync(target, 'utf8'), 'theirs\n');
  });

  it('a FIFO at the log path (no reader: ENXIO, or refused as not a regular file): a warning, no hang', async () => {
    const fifo = join(world.dir, 'fifo.log');
    mkfifo(fifo);
    const result = await runCli(['--log-file', fifo], { ...world.env, RENEWED_LINEAGE: unmapped });
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `^warning: cannot write log file ${fifo} \\((?:ENXIO|not a regular file)\\); logging to the console only\\n$`,
      ),
    );
    assert.ok(lstatSync(fifo).isFIFO());
  });
});
