/**
 * Runs the built CLI like harness.ts's runCli, with two additions the tests of failing output and onFailure need: any stdio (a file
 * descriptor such as /dev/full, or 'ignore' for a closed stream) and a guard that kills a run that hangs, so that
 * a regression fails the test instead of stalling the suite. The guard is a ceiling far above any real run, not a
 * timed assertion.
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { CLI } from './harness.js';

export interface GuardedResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The guard had to kill the run: it hung. */
  hung: boolean;
}

export interface GuardedOptions {
  env?: Record<string, string | undefined>;
  /** stdout and stderr: 'pipe' (collected), 'ignore', or a file descriptor. Default 'pipe'. */
  stdout?: 'pipe' | 'ignore' | number;
  stderr?: 'pipe' | 'ignore' | number;
  /** A shell line wrapping the run instead (`$CLI` is the command), e.g. to close a descriptor with `>&-`. */
  shell?: string;
  guardMs?: number;
}

export function runGuarded(args: readonly string[], options: GuardedOptions = {}): Promise<GuardedResult> {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env };
  const stdio: StdioOptions = ['ignore', options.stdout ?? 'pipe', options.stderr ?? 'pipe'];
  const child =
    options.shell === undefined
      ? spawn(process.execPath, [CLI, ...args], { env, stdio })
      : spawn('/bin/sh', ['-c', options.shell, 'sh', ...args], {
          env: { ...env, CLI: `${process.execPath} ${CLI}` },
          stdio,
        });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    let hung = false;
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const guard = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, options.guardMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, hung });
    });
  });
}
