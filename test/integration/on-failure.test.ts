/**
 * The onFailure command through the built CLI: one that others could have written is not run (one error line), one
 * that leaves a background child holding its output cannot hold the hook open, it never outlives a stopped run, and
 * the run with it ends by the run's deadline; a relative program path is refused when the config is loaded.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runGuarded } from '../support/guarded-run.js';
import { CLI, runCli, tempDir } from '../support/harness.js';
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

/** Whether a process is still running (a zombie is not). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Waits for `condition`, at most `ms`; whether it came true. */
async function waitFor(condition: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

/** A notifier that never ends by itself: a background child, then a wait; both pids written once it runs. */
function endlessNotifier(dir: string) {
  const pids = join(dir, 'pids');
  const hook = join(dir, 'notify.sh');
  writeFileSync(
    hook,
    `#!/bin/sh\ncat >/dev/null\nsleep 1000 &\necho "$$ $!" > '${pids}.tmp'\nmv '${pids}.tmp' '${pids}'\nwait\n`,
  );
  chmodSync(hook, 0o755);
  const read = () => readFileSync(pids, 'utf8').trim().split(' ').map(Number);
  return { hook, pids, read };
}

function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

describe('onFailure ends with the run', () => {
  it('a SIGTERM while onFailure runs kills its whole process group; the run exits 143 at once', async () => {
    const notifier = endlessNotifier(tempDir());
    world = await createWorld({ map: { 'example.com': 1234567 }, config: { onFailure: [notifier.hook] } });
    world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { res: 9415 } });
    const live = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const child = spawn(process.execPath, [CLI, 'deploy'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...world.env, RENEWED_LINEAGE: live },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let pids: number[] = [];
    try {
      assert.ok(await waitFor(() => existsSync(notifier.pids), 60_000), `onFailure never ran: ${stderr}`);
      pids = notifier.read();
      child.kill('SIGTERM');
      // A ceiling, not a timing: before, the run waited out its 5-second stop watchdog and left both running.
      const code = await exited;
      assert.equal(code, 143, stderr);
      assert.match(stderr, /^warning: onFailure command .*notify\.sh was stopped with the run$/m);
      for (const pid of pids)
        assert.equal(await waitFor(() => !running(pid), 2_000), true, `pid ${pid} outlived the run`);
      assert.doesNotMatch(stderr, /^\s+at /m);
    } finally {
      child.kill('SIGKILL');
      killAll(pids);
    }
  });

  it('uploads that use the whole hook deadline leave onFailure the reserve: the run ends by its deadline', async () => {
    const notifier = endlessNotifier(tempDir());
    const deadlineSeconds = 5;
    world = await createWorld({
      map: { 'example.com': 1234567 },
      config: { onFailure: [notifier.hook], hookDeadlineSeconds: deadlineSeconds, timeoutSeconds: 600 },
    });
    // Imperva never answers: each upload waits until the deadline allows no more.
    world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { hang: true } });
    const live = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const started = Date.now();
    let pids: number[] = [];
    try {
      const result = await runGuarded(['deploy'], {
        env: { ...world.env, RENEWED_LINEAGE: live },
        guardMs: 120_000,
      });
      const took = Date.now() - started;
      assert.equal(result.hung, false);
      assert.equal(result.code, 1, result.stderr);
      assert.ok(existsSync(notifier.pids), `onFailure did not run: ${result.stderr}`);
      pids = notifier.read();
      // Before, onFailure had its own 60 s after uploads that took the whole deadline (100 s + 60 s under lego's 120).
      assert.match(
        result.stderr,
        /^warning: onFailure command .*notify\.sh did not finish within [\d.]+ s and was stopped$/m,
      );
      const [within] =
        /onFailure command .* did not finish within ([\d.]+) s/.exec(result.stderr)?.slice(1) ?? [];
      assert.ok(Number(within) <= deadlineSeconds / 5, `onFailure had ${within} s, more than the reserve`);
      // Node's start and exit are outside the run's own clock: a generous margin, far from 60 s.
      assert.ok(took < (deadlineSeconds + 5) * 1000, `the run took ${took} ms`);
      for (const pid of pids)
        assert.equal(await waitFor(() => !running(pid), 2_000), true, `pid ${pid} outlived the run`);
      assert.deepEqual(
        (JSON.parse(readFileSync(world.queueFile, 'utf8')) as { entries: { siteId: string }[] }).entries.map(
          (entry) => entry.siteId,
        ),
        ['1234567'],
      );
    } finally {
      killAll(pids);
    }
  });
});

describe('onFailure program path', () => {
  for (const program of ['./notify.sh', 'hooks/notify.sh']) {
    it(`a relative path (${program}) is refused by check and by the hook: exit 2, naming the file and the field`, async () => {
      world = await createWorld({ map: { 'example.com': 1234567 }, config: { onFailure: [program] } });
      const check = await runCli(['check'], world.env);
      assert.equal(check.code, 2, check.stderr);
      assert.equal(
        check.stderr,
        `error: ${world.configFile}: onFailure: the program must be an absolute path (or a bare name looked up on PATH), not a relative one\n`,
      );
      const live = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
      const hook = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: live });
      assert.equal(hook.code, 2, hook.stderr);
      assert.equal(hook.stderr, check.stderr);
      assert.equal(world.fake.requests.length, 0, 'the hook reached Imperva');
    });
  }
});
