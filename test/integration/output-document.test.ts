/**
 * Output that is always one document and always safe to print, through the built CLI:
 * - `--json`, `--json=true` and `--json=1` turn the document on; `--json=false`, `--json=0` and `--no-json` turn it
 *   off; any other value is exit 2, told as a document. Before, `--json=true` ran without a document and `--json=1`
 *   was taken as off.
 * - A run stopped by a signal while it waits (here for the queue lock that another process holds) still prints its
 *   one document. Before, stdout was empty.
 * - Text from Imperva (the account's and plan's names, an error message) and from files (a queued entry) reaches the
 *   terminal with C0 controls, DEL, C1 controls and bidirectional controls escaped, neither raw nor dropped.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { FakeImperva } from '../support/fake-imperva.js';
import { CLI, runCli, tempDir, writeConfig, type CliResult } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { wireHost } from '../support/wired-host.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
});
let world: World | undefined;
let fake: FakeImperva | undefined;
afterEach(async () => {
  await world?.close();
  await fake?.close();
  world = undefined;
  fake = undefined;
});
after(() => world?.close());

/** stdout is exactly one JSON document on one line. */
function documentOf(result: CliResult): Record<string, unknown> {
  const lines = result.stdout.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, `one line on stdout: ${JSON.stringify(result)}`);
  return JSON.parse(lines[0] ?? '') as Record<string, unknown>;
}

/** What a terminal must never be handed raw: C0 (but newline and tab), DEL, C1, bidirectional controls. */
// eslint-disable-next-line no-control-regex -- control characters are what is being looked for
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('--json and its values', () => {
  for (const on of [['--json'], ['--json=true'], ['--json=1'], ['--no-json', '--json=1']]) {
    it(`${on.join(' ')}: one document`, async () => {
      world = await createWorld();
      const result = await runCli(['queue', 'list', ...on], world.env);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(documentOf(result), {
        ok: true,
        command: 'queue',
        exitCode: 0,
        sites: [],
        entries: [],
      });
    });
  }

  for (const off of [['--json=false'], ['--json=0'], ['--no-json'], ['--json', '--no-json']]) {
    it(`${off.join(' ')}: lines, no document`, async () => {
      world = await createWorld();
      const result = await runCli(['queue', 'list', ...off], world.env);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout, 'the retry queue is empty\n');
    });
  }

  for (const bad of ['--json=yes', '--json=', '--json=2', '--json=TRUE']) {
    it(`${bad}: exit 2, told as a document`, async () => {
      world = await createWorld();
      const result = await runCli(['queue', 'list', bad], world.env);
      assert.equal(result.code, 2, result.stderr);
      const doc = documentOf(result);
      assert.equal(doc.ok, false);
      assert.equal(doc.command, 'queue');
      assert.equal(doc.exitCode, 2);
      assert.deepEqual(doc.sites, []);
      const error = doc.error as { code: string; message: string };
      assert.equal(error.code, 'USAGE');
      assert.match(error.message, /^--json takes true or 1 \(on\), false or 0 \(off\), not \S/);
      assert.match(result.stderr, /^error: --json takes true or 1/);
      assert.doesNotMatch(result.stderr, /^\s+at /m);
    });
  }

  it('--json=1 with a usage error elsewhere: the usage error, as a document', async () => {
    world = await createWorld();
    const result = await runCli(['sync', '--json=1', '--nope'], world.env);
    assert.equal(result.code, 2);
    const doc = documentOf(result);
    assert.equal(doc.command, 'sync');
    assert.deepEqual(doc.error, { code: 'USAGE', message: 'unknown option --nope; see incap-cert --help' });
  });

  it('--json=true on a push: the upload is reported in the document, and reached Imperva', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const result = await runCli(['push', '--lineage', lineage, '--json=true'], world.env);
    assert.equal(result.code, 0, result.stderr);
    const doc = documentOf(result);
    assert.equal(doc.ok, true);
    assert.equal(doc.command, 'push');
    assert.equal((doc.sites as unknown[]).length, 1);
    assert.equal(world.fake.acceptedUploads().length, 1);
  });
});

/** The start time of a process, field 22 of /proc/PID/stat, as the lock records it. */
function startOf(pid: number): string | undefined {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19];
}

describe('a signal while a run waits', () => {
  /** The queue lock, held by this (live) test process as another incap-cert run would hold it. */
  function holdQueueLock(w: World): void {
    mkdirSync(w.stateDir, { recursive: true, mode: 0o700 });
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const holder = { pid: process.pid, start: startOf(process.pid), boot, token: 'held-by-the-test' };
    writeFileSync(join(w.stateDir, 'queue.lock'), `${JSON.stringify(holder)}\n`, { mode: 0o600 });
  }

  async function stopped(args: string[], w: World, signals: number): Promise<CliResult> {
    // The run is in the lock wait once it tries to take the lock: each try links a fresh temp file to queue.lock.
    // A fixed pause instead sent the signal, on a loaded machine, while Node was still loading the bundle.
    let watcher: FSWatcher | undefined;
    const trying = new Promise<void>((resolve) => {
      const bound = setTimeout(resolve, 20_000);
      watcher = watch(w.stateDir, (_event, name) => {
        if (name !== null && /^queue\.lock\..*\.tmp$/.test(name)) {
          clearTimeout(bound);
          resolve();
        }
      });
    });
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, ...w.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await trying;
    watcher?.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (let sent = 0; sent < signals; sent += 1) {
      child.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return { code: await closed, stdout, stderr };
  }

  for (const signals of [1, 2]) {
    it(`queue drop --json, ${signals === 1 ? 'SIGTERM' : 'SIGTERM twice'} during the lock wait: one document, exit 143`, async () => {
      world = await createWorld();
      // Something to drop, so that the drop has to take the lock.
      const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
      world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { res: 9999 } });
      assert.equal((await runCli(['push', '--lineage', lineage], world.env)).code, 1);
      holdQueueLock(world);
      const result = await stopped(['queue', 'drop', '--all', '--json'], world, signals);
      assert.equal(result.code, 143, result.stderr);
      const doc = documentOf(result);
      assert.equal(doc.ok, false);
      assert.equal(doc.command, 'queue');
      assert.equal(doc.exitCode, 143);
      assert.equal(doc.interrupted, 'SIGTERM');
      assert.doesNotMatch(result.stderr, /^\s+at /m);
      assert.equal(
        (JSON.parse(readFileSync(world.queueFile, 'utf8')) as { entries: unknown[] }).entries.length,
        1,
        'nothing was dropped',
      );
    });
  }

  it('deploy --json=1, SIGTERM while settling behind the lock: one document, exit 143, the upload made', async () => {
    world = await createWorld();
    holdQueueLock(world);
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const result = await stopped(
      ['deploy', '--json=1'],
      { ...world, env: { ...world.env, RENEWED_LINEAGE: lineage } },
      1,
    );
    assert.equal(result.code, 143, result.stderr);
    const doc = documentOf(result);
    assert.equal(doc.command, 'deploy');
    assert.equal(doc.exitCode, 143);
    assert.equal(doc.interrupted, 'SIGTERM');
    assert.ok(world.fake.acceptedUploads().length >= 1, 'the uploads before the lock wait were made');
  });
});

describe('what reaches the terminal is printable', () => {
  const ACCOUNT = 'Evil\u001b[2J\u009b31m\u202eCorp\u2066';
  const PLAN = 'P\u0007\u007fX\tY';

  async function accountWorld() {
    const apiKey = 'key-printable-0123456789';
    fake = await FakeImperva.start({
      apiId: '1',
      apiKey,
      sites: { '1234567': 'example.com' },
      account: { id: 5, name: ACCOUNT, planName: PLAN },
    });
    const dir = tempDir();
    writeCertbotLineage(join(dir, 'le'), 'example.com', leaf);
    const config = writeConfig(dir, {
      api: { id: '1', key: apiKey, baseUrl: fake.url, v3BaseUrl: fake.url },
      sites: { 'example.com': 1234567 },
      stateDir: join(dir, 'state'),
      liveDir: join(dir, 'le', 'live'),
      retryDelaySeconds: 0.01,
    });
    // A host wired as install leaves it, so that check's only verdicts are about the names shown.
    return wireHost(join(dir, 'le', 'live'), { INCAP_CERT_CONFIG: config }).env;
  }

  it("check: the account's and plan's names are shown escaped, not raw and not dropped", async () => {
    const env = await accountWorld();
    // Imperva holds what this host has: the names shown are check's only verdict left to judge.
    assert.equal((await runCli(['sync'], env)).code, 0);
    const result = await runCli(['check'], env);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(
      result.stdout.includes(
        'credentials: account Evil\\x1b[2J\\x9b31m\\u202eCorp\\u2066 (5), plan P\\x07\\x7fX\tY;',
      ),
      result.stdout,
    );
    assert.doesNotMatch(result.stdout + result.stderr, RAW);
  });

  it('status: an Imperva error with C1 and bidirectional controls, in lines and in the document', async () => {
    const env = await accountWorld();
    const message = 'bad\u009b2J\u202ething\u0085';
    fake?.inject({ endpoint: 'certificates', times: Infinity, fault: { status: 404, body: '' } });
    fake?.inject({
      endpoint: 'status',
      times: Infinity,
      fault: { body: JSON.stringify({ res: 9999, res_message: message }), contentType: 'application/json' },
    });
    const lines = await runCli(['status'], env);
    assert.match(lines.stdout, /bad\\x9b2J\\u202ething\\x85/);
    assert.doesNotMatch(lines.stdout + lines.stderr, RAW);

    const json = await runCli(['status', '--json'], env);
    assert.doesNotMatch(json.stdout, RAW);
    assert.ok(json.stdout.includes('\\u009b2J\\u202ething\\u0085'), json.stdout);
    // The same text, once parsed: escaped for the terminal, not changed.
    assert.ok(JSON.stringify(documentOf(json)).includes(message));
  });

  it('queue list: a queued last error from the state file is escaped, and the columns stay aligned', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { res: 9999 } });
    const failed = await runCli(['push', '--lineage', lineage], world.env);
    assert.equal(failed.code, 1, failed.stderr);
    const queue = JSON.parse(readFileSync(world.queueFile, 'utf8')) as { entries: { lastError: string }[] };
    for (const entry of queue.entries)
      entry.lastError = 'refused \u001b]0;owned\u0007 \u009b2J \u202egnp.exe';
    writeFileSync(world.queueFile, JSON.stringify(queue), { mode: 0o600 });
    const result = await runCli(['queue', 'list'], world.env);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stdout, RAW);
    assert.match(result.stdout, /last error: refused \\x1b\]0;owned\\x07 \\x9b2J \\u202egnp\.exe$/m);
  });

  it("deploy: C0 controls in Imperva's res_message are shown escaped, in the line and in the queue, not blanked", async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const message = 'no\u001b[8m hidden\u0007\r\nline';
    world.fake.inject({
      endpoint: 'upload',
      times: Infinity,
      fault: { body: JSON.stringify({ res: 9999, res_message: message }), contentType: 'application/json' },
    });
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 1, result.stderr);
    assert.doesNotMatch(result.stdout + result.stderr, RAW);
    assert.match(result.stderr, /no\\x1b\[8m hidden\\x07 line/);
    const queue = JSON.parse(readFileSync(world.queueFile, 'utf8')) as { entries: { lastError: string }[] };
    assert.ok(queue.entries.length > 0);
    for (const entry of queue.entries) assert.match(entry.lastError, /no\\x1b\[8m hidden\\x07 line/);
  });
});
