/**
 * The onFailure command is bounded: it cannot hang the run (a background child holding its pipes, a command that
 * never exits), flood it (10 MB of output), or run at all when others could have written it.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Redactor } from '../../src/log/redact.js';
import { runOnFailure, tellOnFailure, type FailureSummary } from '../../src/notify/on-failure.js';
import { VERSION } from '../../src/util/version.js';
import { tempDir } from '../support/harness.js';
import { memoryLog } from '../support/memory-log.js';

// A ceiling that turns a hang into a failure; not a timed assertion.
const GUARD = { timeout: 120_000 };

const SUMMARY: FailureSummary = {
  tool: 'incap-cert',
  version: '0.0.0',
  command: 'deploy',
  host: 'test',
  time: '2026-11-27T00:00:00.000Z',
  sites: [],
};

function script(dir: string, name: string, body: string, mode = 0o755): string {
  const file = join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, mode);
  return file;
}

/** Whether a process is still running (a zombie is not). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

describe('runOnFailure is bounded', () => {
  it(
    'a command that starts a background child and exits returns at once, with no warning',
    GUARD,
    async () => {
      const dir = tempDir();
      const pidFile = join(dir, 'pid');
      const hook = script(dir, 'hook.sh', `cat >/dev/null\nsleep 1000 &\necho $! > '${pidFile}'\necho done`);
      const { lines, log } = memoryLog();
      // Far longer than the command takes: reaching it means the run waited on the background child's pipes.
      await runOnFailure([hook], SUMMARY, log, { timeoutMs: 30_000 });
      const pid = Number(readFileSync(pidFile, 'utf8'));
      kill(pid);
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0] ?? '', /^debug: onFailure command .*hook\.sh ran(: done)?$/);
    },
  );

  it('a command that prints 10 MB: what is kept is capped, the run goes on', GUARD, async () => {
    const dir = tempDir();
    const hook = script(dir, 'hook.sh', 'cat >/dev/null\nhead -c 10485760 /dev/zero | tr "\\0" x');
    const { lines, log } = memoryLog();
    await runOnFailure([hook], SUMMARY, log, { maxOutputBytes: 64 * 1024 });
    assert.equal(lines.length, 1);
    assert.ok((lines[0] ?? '').length < 70 * 1024, `${lines[0]?.length} characters kept`);
    assert.match(lines[0] ?? '', /^debug: onFailure command .* ran: x+ \(output cut at 64 KiB\)$/);
  });

  it(
    'a command that never exits is stopped with its whole process group, and one warning',
    GUARD,
    async () => {
      const dir = tempDir();
      const pidFile = join(dir, 'pid');
      const hook = script(dir, 'hook.sh', `sleep 1000 &\necho $! > '${pidFile}'\nwait`);
      const { lines, log } = memoryLog();
      await runOnFailure([hook], SUMMARY, log, { timeoutMs: 1_000 });
      assert.deepEqual(lines, [`warn: onFailure command ${hook} did not finish within 1 s and was stopped`]);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      try {
        // SIGKILL is delivered at once; the wait is only for the kernel to reap.
        await waitUntil(() => !running(pid));
      } finally {
        kill(pid);
      }
    },
  );

  it(
    'a stop of the run (its signal aborts) kills the whole process group at once, and one warning',
    GUARD,
    async () => {
      const dir = tempDir();
      const pidFile = join(dir, 'pid');
      const hook = script(dir, 'hook.sh', `sleep 1000 &\necho $! > '${pidFile}'\nwait`);
      const { lines, log } = memoryLog();
      const stop = new AbortController();
      // Far longer than the test: only the stop can end the command.
      const started = runOnFailure([hook], SUMMARY, log, { timeoutMs: 100_000, signal: stop.signal });
      await waitUntil(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'));
      const pid = Number(readFileSync(pidFile, 'utf8'));
      stop.abort('SIGTERM');
      await started;
      try {
        assert.deepEqual(lines, [`warn: onFailure command ${hook} was stopped with the run`]);
        await waitUntil(() => !running(pid));
      } finally {
        kill(pid);
      }
    },
  );

  it('no time left (the deadline has come) or a run already stopped: not started, one warning', async () => {
    const dir = tempDir();
    const marker = join(dir, 'ran');
    const hook = script(dir, 'hook.sh', `touch '${marker}'`);
    const { lines, log } = memoryLog();
    await runOnFailure([hook], SUMMARY, log, { timeoutMs: 0 });
    await runOnFailure([hook], SUMMARY, log, { signal: AbortSignal.abort('SIGTERM') });
    assert.equal(existsSync(marker), false, 'the program ran');
    assert.deepEqual(lines, [
      `warn: onFailure command ${hook} is not run: the run's deadline has come`,
      `warn: onFailure command ${hook} is not run: the run was stopped`,
    ]);
  });

  it('the summary arrives on stdin, and the API key is not in its environment', GUARD, async () => {
    const dir = tempDir();
    const out = join(dir, 'out');
    const hook = script(dir, 'hook.sh', `cat > '${out}'\nenv >> '${out}'`);
    process.env.IMPERVA_API_KEY = 'key-must-not-be-inherited-0123';
    try {
      await runOnFailure([hook], SUMMARY, memoryLog().log);
    } finally {
      delete process.env.IMPERVA_API_KEY;
    }
    const text = readFileSync(out, 'utf8');
    assert.match(text, /"tool": "incap-cert"/);
    assert.doesNotMatch(text, /key-must-not-be-inherited/);
  });
});

describe('tellOnFailure: the one hand-off of deploy, sync, the ARI timer and the canary', () => {
  const at = new Date('2026-12-01T00:00:00.000Z');
  const run = (
    log: ReturnType<typeof memoryLog>['log'],
    endsAt: number,
    signal = new AbortController().signal,
  ) => {
    const redactor = new Redactor();
    redactor.addSecret('secret-in-a-finding-0123');
    return { command: 'sync', log, redactor, now: () => at, endsAt, signal };
  };
  const findings = [
    {
      kind: 'renewal-path' as const,
      lineage: 'example.com',
      name: 'www.example.com',
      verdict: 'blocked',
      since: at.toISOString(),
      advice: 'secret-in-a-finding-0123',
    },
  ];

  it('the header, then the body as given, redacted', GUARD, async () => {
    const dir = tempDir();
    const out = join(dir, 'out');
    const hook = script(dir, 'hook.sh', `cat > '${out}'`);
    const { lines, log } = memoryLog();
    await tellOnFailure([hook], { sites: [], findings }, run(log, at.getTime() + 30_000));
    const expected = {
      tool: 'incap-cert',
      version: VERSION,
      command: 'sync',
      host: hostname(),
      time: at.toISOString(),
      sites: [],
      findings: [{ ...findings[0], advice: '[redacted]' }],
    };
    assert.equal(readFileSync(out, 'utf8'), `${JSON.stringify(expected, null, 2)}\n`);
    assert.deepEqual(
      lines.filter((line) => !line.startsWith('debug:')),
      [],
    );
  });

  it('bounded by the run: past its deadline, or once it is stopped, the program is not started', async () => {
    const dir = tempDir();
    const marker = join(dir, 'ran');
    const hook = script(dir, 'hook.sh', `touch '${marker}'`);
    const { lines, log } = memoryLog();
    await tellOnFailure([hook], { sites: [] }, run(log, at.getTime()));
    await tellOnFailure([hook], { sites: [] }, run(log, at.getTime() + 30_000, AbortSignal.abort('SIGTERM')));
    assert.equal(existsSync(marker), false, 'the program ran');
    assert.deepEqual(lines, [
      `warn: onFailure command ${hook} is not run: the run's deadline has come`,
      `warn: onFailure command ${hook} is not run: the run was stopped`,
    ]);
  });
});

describe('runOnFailure runs only what root may trust', () => {
  it('a program in a folder others can write is not run: one error line says why', async () => {
    const dir = join(tempDir(), 'open');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const marker = join(dir, 'ran');
    const hook = script(dir, 'hook.sh', `touch '${marker}'`);
    const { lines, log } = memoryLog();
    await runOnFailure([hook], SUMMARY, log);
    assert.equal(existsSync(marker), false, 'the program ran');
    assert.equal(lines.length, 1);
    assert.match(
      lines[0] ?? '',
      /^error: onFailure command .*hook\.sh is not run: .* is writable by group or others/,
    );
  });

  it('a program others can write is not run', async () => {
    const dir = tempDir();
    const marker = join(dir, 'ran');
    const hook = script(dir, 'hook.sh', `touch '${marker}'`, 0o757);
    const { lines, log } = memoryLog();
    await runOnFailure([hook], SUMMARY, log);
    assert.equal(existsSync(marker), false, 'the program ran');
    assert.match(lines.join('\n'), /^error: onFailure command .*hook\.sh is not run: .*mode 0757/);
  });

  it('a bare name is looked up on PATH and checked there', async () => {
    const dir = join(tempDir(), 'bin');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const marker = join(dir, 'ran');
    script(dir, 'notify-admin', `touch '${marker}'`);
    const { lines, log } = memoryLog();
    await runOnFailure(['notify-admin'], SUMMARY, log, { path: `/nonexistent:${dir}` });
    assert.equal(existsSync(marker), false, 'the program ran');
    assert.match(lines.join('\n'), /^error: onFailure command notify-admin is not run: /);
  });

  it('a safe bare name runs', async () => {
    const dir = tempDir();
    const marker = join(dir, 'ran');
    script(dir, 'notify-admin', `touch '${marker}'`);
    const { lines, log } = memoryLog();
    await runOnFailure(['notify-admin'], SUMMARY, log, { path: dir });
    assert.equal(existsSync(marker), true);
    assert.deepEqual(lines, ['debug: onFailure command notify-admin ran']);
  });

  it("a bare name is not looked up in a relative PATH folder (the working folder is anyone's guess)", async () => {
    const dir = tempDir();
    const marker = join(dir, 'ran');
    script(dir, 'notify-admin', `touch '${marker}'`);
    const { lines, log } = memoryLog();
    const was = process.cwd();
    process.chdir(dir);
    try {
      await runOnFailure(['notify-admin'], SUMMARY, log, { path: '.:bin:' });
    } finally {
      process.chdir(was);
    }
    assert.equal(existsSync(marker), false, 'the program ran');
    assert.deepEqual(lines, ['warn: onFailure command notify-admin could not run (ENOENT)']);
  });

  it('a missing program is a warning, as before', async () => {
    const { lines, log } = memoryLog();
    await runOnFailure(['no-such-program-anywhere'], SUMMARY, log);
    await runOnFailure(['/no/such/program'], SUMMARY, log);
    assert.deepEqual(lines, [
      'warn: onFailure command no-such-program-anywhere could not run (ENOENT)',
      'warn: onFailure command /no/such/program could not run (ENOENT)',
    ]);
  });
});
