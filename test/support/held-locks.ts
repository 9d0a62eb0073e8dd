/**
 * Lock holders and timed runs for the tests of what waits on a lock or a slow peer: a lock written as a live
 * incap-cert run on this host (or in a container) writes it, and a run of the built CLI that says how long it took,
 * can be sent SIGTERM, and is killed past a ceiling (a regression fails the test instead of stalling the suite).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CLI, type CliResult } from './harness.js';

/** Field 22 of /proc/PID/stat: the start time a lock records. */
export function startOf(pid: number): string {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[19] ?? '';
}

export function bootId(): string {
  return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

/** `file` held by this (live) test process, as another incap-cert run on this host would hold it. */
export function holdLock(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const ns = readlinkSync('/proc/self/ns/pid');
  const holder = {
    pid: process.pid,
    start: startOf(process.pid),
    boot: bootId(),
    token: 'held-by-the-test',
    ns,
  };
  writeFileSync(file, `${JSON.stringify(holder)}\n`, { mode: 0o600 });
}

/** A lock as a run in a container writes it: same kernel (boot id), another PID namespace, a pid unknown here. */
export function lockFromAnotherNamespace(): string {
  const other = readlinkSync('/proc/self/ns/pid') === 'pid:[1]' ? 'pid:[2]' : 'pid:[1]';
  return `${JSON.stringify({ pid: 999_999_999, start: '1', boot: bootId(), token: 'container', ns: other })}\n`;
}

export interface TimedResult extends CliResult {
  /** From the start to the exit. */
  ms: number;
  /** From the SIGTERM to the exit, when one was sent. */
  afterSignalMs: number | undefined;
  /** The ceiling was reached: the run was killed. */
  killed: boolean;
}

export interface TimedOptions {
  /** Send SIGTERM this long after the start. */
  signalAfterMs?: number | undefined;
  /** Send SIGTERM once this says so (asked every 20 ms): e.g. once a fake peer holds the run's request. */
  signalWhen?: (() => boolean) | undefined;
  /** Kill the run (SIGKILL) after this long. Default 40 s. */
  boundMs?: number | undefined;
}

/** Runs the built CLI with `env` (PATH and HOME added), timed, and stopped as `options` say. */
export function runTimed(
  args: readonly string[],
  env: Record<string, string>,
  options: TimedOptions = {},
): Promise<TimedResult> {
  const started = Date.now();
  let signalled: number | undefined;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    const stop = () => {
      if (signalled !== undefined) return;
      signalled = Date.now();
      child.kill('SIGTERM');
    };
    const killer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, options.boundMs ?? 40_000);
    const stopper = options.signalAfterMs === undefined ? undefined : setTimeout(stop, options.signalAfterMs);
    const watcher =
      options.signalWhen === undefined
        ? undefined
        : setInterval(() => {
            if (options.signalWhen?.() === true) stop();
          }, 20);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      clearTimeout(stopper);
      clearInterval(watcher);
      const now = Date.now();
      resolve({
        code,
        stdout,
        stderr,
        ms: now - started,
        afterSignalMs: signalled === undefined ? undefined : now - signalled,
        killed,
      });
    });
  });
}
