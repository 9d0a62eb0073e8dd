/**
 * `check` against a hostile or broken Certbot set-up: whatever the drop-in is (a folder, a link loop, not
 * executable, a program that prints junk as its version), `check` never says "done" (exit 1 with one problem line
 * naming it, and the fix), never dies, and prints what a program said without its control characters.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { execFileSync, spawn } from 'node:child_process';
import { CLI, runCli, tempDir, type CliResult } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { WEBROOT_CONF, script, wireHost } from '../support/wired-host.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
});
let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

/** A host wired as install leaves it, every site current: only what a test breaks is left to find. */
async function wiredHost(certbotName = 'le') {
  const dir = tempDir();
  const certbot = join(dir, certbotName);
  const notifier = script(join(dir, 'notify'), 'cat > /dev/null');
  world = await createWorld({
    sites: { '1234567': 'example.com' },
    map: { 'example.com': 1234567 },
    config: { liveDir: join(certbot, 'live'), onFailure: [notifier], ari: false },
  });
  writeCertbotLineage(certbot, 'example.com', leaf);
  const host = wireHost(join(certbot, 'live'), world.env);
  const pushed = await runCli(['push', '--lineage', join(certbot, 'live', 'example.com')], host.env);
  assert.equal(pushed.code, 0, pushed.stderr);
  return { ...host, dir, certbot };
}

function onlyProblem(result: CliResult): string {
  assert.doesNotMatch(result.stderr, /internal error|^\s+at /m);
  assert.equal(result.code, 1, result.stdout + result.stderr);
  const problems = result.stderr.split('\n').filter((line) => line.includes('problem: '));
  assert.equal(problems.length, 1, result.stderr);
  return problems[0] ?? '';
}

describe('check: a drop-in that cannot run incap-cert', () => {
  it('a wired host passes (the baseline every case below breaks)', async () => {
    const host = await wiredHost();
    const result = await runCli(['check'], host.env);
    assert.equal(result.code, 0, result.stdout + result.stderr);
  });

  it('a folder where the drop-in should be', async () => {
    const host = await wiredHost();
    rmSync(host.dropin);
    mkdirSync(host.dropin);
    assert.match(onlyProblem(await runCli(['check'], host.env)), /is not a regular file/);
  });

  it('a link loop', async () => {
    const host = await wiredHost();
    rmSync(host.dropin);
    symlinkSync(host.dropin, host.dropin);
    assert.match(onlyProblem(await runCli(['check'], host.env)), /cannot be read \(ELOOP\)/);
  });

  it('not executable', async () => {
    const host = await wiredHost();
    chmodSync(host.dropin, 0o644);
    assert.match(onlyProblem(await runCli(['check'], host.env)), /not executable.*fix: chmod 755/);
  });

  it('a program whose --version is long and full of control characters', async () => {
    const host = await wiredHost();
    script(host.program, `printf 'incap-cert 9\\033]0;pwned\\007\\033[2J%0500d\\n' 0`);
    const line = onlyProblem(await runCli(['check'], host.env));
    assert.match(line, /whose --version/);
    // eslint-disable-next-line no-control-regex -- control characters are what must not be there
    assert.doesNotMatch(line, /[\u0000-\u0008\u000b-\u001f\u007f]/);
    assert.ok(line.length < 1000, `${line.length} characters`);
  });

  it('a program that prints the version with control characters after it', async () => {
    const host = await wiredHost();
    script(host.program, `printf 'incap-cert 0.0.1\\033[2J\\n'`);
    const result = await runCli(['check', '--json'], host.env);
    assert.equal(result.code, 1, result.stderr);
    // eslint-disable-next-line no-control-regex -- an escape is what must not be there
    assert.doesNotMatch(result.stdout + result.stderr, /\u001b/);
  });
});

describe("check: Certbot's folder through a link", () => {
  it('a symlinked Certbot folder is read through the link: all done', async () => {
    const host = await wiredHost('le-real');
    const link = join(host.dir, 'le');
    symlinkSync(host.certbot, link);
    const config = { liveDir: join(link, 'live') };
    const result = await runCli(['check', '--live-dir', config.liveDir], host.env);
    assert.equal(result.code, 0, result.stdout + result.stderr);
  });

  it('a renewal configuration moved away: the lineage is named', async () => {
    const host = await wiredHost();
    renameSync(host.renewalConf('example.com'), `${host.renewalConf('example.com')}.bak`);
    assert.match(onlyProblem(await runCli(['check'], host.env)), /certbot renew skips it/);
  });
});

describe('check: what the hook reaches is what root runs', () => {
  it('a program anyone may rewrite is not "done"', async () => {
    const host = await wiredHost();
    chmodSync(host.program, 0o777);
    const line = onlyProblem(await runCli(['check'], host.env));
    assert.ok(line.includes(`runs ${host.program} as root, and `), line);
    assert.match(line, /fix: /);
  });

  it('a renewal configuration that sets renew_hook twice: Certbot cannot read it', async () => {
    const host = await wiredHost();
    rmSync(host.dropin);
    writeFileSync(
      host.renewalConf('example.com'),
      `${WEBROOT_CONF}renew_hook = ${host.program} deploy\nrenew_hook = ${host.program} deploy\n`,
    );
    const result = await runCli(['check'], host.env);
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /renew_hook is set twice/);
  });
});

describe('check: a renewal configuration that is not a file', () => {
  const cases: [string, (file: string) => void][] = [
    ['a FIFO', (file) => execFileSync('mkfifo', [file])],
    ['a link to /dev/zero', (file) => symlinkSync('/dev/zero', file)],
    ['a folder', (file) => mkdirSync(file)],
    ['a link loop', (file) => symlinkSync(file, file)],
  ];
  for (const [what, make] of cases) {
    it(`${what}: named as a problem, without waiting on it`, async () => {
      const host = await wiredHost();
      const conf = host.renewalConf('example.com');
      rmSync(conf);
      make(conf);
      const line = onlyProblem(await runCli(['check'], host.env));
      assert.ok(line.includes(conf), line);
    });
  }
});

describe('check stopped while a program it asks does not answer', () => {
  it("SIGTERM while the drop-in's program hangs on --version: exit 143 at once, the program killed", async () => {
    const host = await wiredHost();
    const marker = join(host.dir, 'asked');
    script(host.program, `echo $$ > ${marker}; exec sleep 60`);
    const child = spawn(process.execPath, [CLI, 'check', '--json'], {
      env: { PATH: process.env.PATH, ...host.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    while (!existsSync(marker) || readFileSync(marker, 'utf8').trim() === '') {
      if (child.exitCode !== null) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const pid = Number(readFileSync(marker, 'utf8'));
    const started = Date.now();
    child.kill('SIGTERM');
    const code = await closed;
    assert.equal(code, 143, stderr);
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.doesNotMatch(stderr, /internal error|^\s+at /m);
    JSON.parse(stdout);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.throws(() => process.kill(pid, 0), /ESRCH/, 'the hung program is gone');
  });
});

describe('check: a renew_hook that runs incap-cert twice', () => {
  it('every renewal uploads twice: a problem naming the file', async () => {
    const host = await wiredHost();
    rmSync(host.dropin);
    const conf = host.renewalConf('example.com');
    writeFileSync(
      conf,
      WEBROOT_CONF.replace(
        '[renewalparams]\n',
        `[renewalparams]\nrenew_hook = ${host.program} deploy; ${host.program} deploy\n`,
      ),
    );
    const line = onlyProblem(await runCli(['check'], host.env));
    assert.ok(line.includes(conf), line);
    assert.match(line, /twice/);
  });
});
