import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type { Log } from '../log/logger.js';
import type { Redactor } from '../log/redact.js';
import { onAbort } from '../util/abort.js';
import { untrustedReason } from '../util/trust.js';
import { VERSION } from '../util/version.js';

/** What the onFailure command reads on stdin: what failed, where, why. No secret: no key, no key material. */
export interface FailureSummary {
  tool: 'incap-cert';
  version: string;
  command: string;
  host: string;
  time: string;
  sites: {
    siteId: string;
    names: string[];
    certificate: string;
    lineage: string | undefined;
    fingerprint: string;
    notAfter: string;
    error: string;
    res: number | undefined;
    httpStatus: number | undefined;
    transient: boolean;
    attempts: number;
    queued: boolean;
  }[];
  /** Lineages whose renewal schedule turned into a problem (src/ari/timer.ts): sites is then empty. */
  lineages?: { lineage: string; state: string; message: string; fix: string | null }[] | undefined;
  /** Renewal paths whose pass or failure turned (src/canary/timer.ts): sites is then empty. */
  findings?:
    | {
        kind: 'renewal-path';
        lineage: string;
        name: string;
        verdict: string;
        since: string;
        advice: string | null;
      }[]
    | undefined;
}

/** What one summary tells: the failed sites (deploy, sync), or with no site, the lineages or findings that turned. */
export type FailureBody = Pick<FailureSummary, 'sites' | 'lineages' | 'findings'>;

/** What a hand-off takes from the run (RunContext has it all): its name, its log and secrets, its end and stop. */
export interface HandOffRun {
  command: string;
  log: Log;
  redactor: Redactor;
  now: () => Date;
  /** When the whole run must be over: the onFailure program gets what is left of it, at most its own limit. */
  endsAt: number;
  signal: AbortSignal;
}

/**
 * The one hand-off to the onFailure program: the header every summary has (tool, version, command, host, time),
 * then `body`, redacted, bounded by what is left of the run's deadline and stopped with the run.
 */
export async function tellOnFailure(
  command: readonly string[],
  body: FailureBody,
  run: HandOffRun,
): Promise<void> {
  const summary: FailureSummary = {
    tool: 'incap-cert',
    version: VERSION,
    command: run.command,
    host: hostname(),
    time: run.now().toISOString(),
    ...body,
  };
  await runOnFailure(command, run.redactor.redactValue(summary), run.log, {
    timeoutMs: Math.min(ON_FAILURE_TIMEOUT_MS, run.endsAt - run.now().getTime()),
    signal: run.signal,
  });
}

export interface OnFailureOptions {
  /**
   * The command's whole process group is killed after this long (default 60 s; the run gives it what is left of its
   * deadline, at most that). None left: it is not started.
   */
  timeoutMs?: number;
  /** The run's stop (SIGTERM, ^C): the command's whole process group is killed at once. */
  signal?: AbortSignal | undefined;
  /** At most this much of its stdout and stderr is kept (default 64 KiB); the rest is read and dropped. */
  maxOutputBytes?: number;
  /** PATH to resolve a bare program name with (default the environment's). */
  path?: string | undefined;
}

/** Environment variables the command must not inherit. */
const SECRET_ENV = ['IMPERVA_API_KEY'];

export const ON_FAILURE_TIMEOUT_MS = 60_000;
export const ON_FAILURE_MAX_OUTPUT = 64 * 1024;

/** After the command exits, how long its pipes may still deliver what it wrote before they are closed. */
const DRAIN_MS = 200;

/**
 * Runs the configured onFailure command (argv, no shell) with the summary as JSON on stdin. Nothing it does can
 * hang or crash the run; its failure — unsafe, not found, non-zero exit, no end in time — is logged, never fatal:
 * the run's outcome stands.
 *
 * - The program (a bare name is looked up on PATH first) must be one root may trust (src/util/trust.ts): one that
 *   others could have written is not run, and one error line says why. A missing one is a warning.
 * - It runs in its own process group; the whole group is killed (SIGKILL), background children included, after
 *   `timeoutMs`, when `signal` aborts, and when this process exits however it exits (a second signal, the stop
 *   watchdog in src/main.ts): a notifier never outlives the run that started it.
 * - The run waits for the command to exit, not for its pipes to close: a background child (`notify &`) that
 *   inherited them cannot hold the hook open. Its pipes are closed shortly after the exit.
 * - At most `maxOutputBytes` of what it prints is kept, for the debug line; the rest is read and dropped.
 */
export async function runOnFailure(
  command: readonly string[],
  summary: FailureSummary,
  log: Log,
  options: OnFailureOptions | number = {},
): Promise<void> {
  const {
    timeoutMs = ON_FAILURE_TIMEOUT_MS,
    maxOutputBytes = ON_FAILURE_MAX_OUTPUT,
    signal,
  } = typeof options === 'number' ? { timeoutMs: options } : options;
  const [file, ...args] = command;
  if (file === undefined) return;
  if (signal?.aborted === true) {
    log.warn(`onFailure command ${file} is not run: the run was stopped`);
    return;
  }
  if (timeoutMs <= 0) {
    log.warn(`onFailure command ${file} is not run: the run's deadline has come`);
    return;
  }
  const program = findProgram(file, typeof options === 'number' ? undefined : options.path);
  if (program === undefined) {
    log.warn(`onFailure command ${file} could not run (ENOENT)`);
    return;
  }
  const unsafe = untrustedReason(program);
  if (unsafe !== undefined) {
    log.error(`onFailure command ${file} is not run: ${unsafe}`);
    return;
  }
  const env = { ...process.env };
  for (const name of SECRET_ENV) delete env[name];
  await new Promise<void>((done) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let dropped = 0;
    let settled = false;
    let drain: NodeJS.Timeout | undefined;
    const child = spawn(program, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env,
      shell: false,
      detached: true,
    });
    const killOnExit = () => killGroup(child.pid);
    process.on('exit', killOnExit);
    const stopped = () => {
      killGroup(child.pid);
      finish('was stopped with the run');
    };
    const unlisten = signal === undefined ? () => {} : onAbort(signal, stopped);
    const closePipes = () => {
      child.stdin.destroy();
      child.stdout.destroy();
      child.stderr.destroy();
    };
    const finish = (problem?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(drain);
      unlisten();
      process.off('exit', killOnExit);
      closePipes();
      if (problem !== undefined) log.warn(`onFailure command ${file} ${problem}`);
      else {
        const output = Buffer.concat(chunks).toString('utf8').trim();
        const cut = dropped > 0 ? ` (output cut at ${Math.round(maxOutputBytes / 1024)} KiB)` : '';
        // Not cut here: the logger redacts first and cuts long lines after.
        log.debug(`onFailure command ${file} ran${output ? `: ${output}` : ''}${cut}`);
      }
      done();
    };
    const timer = setTimeout(() => {
      killGroup(child.pid);
      finish(`did not finish within ${Math.round(timeoutMs / 100) / 10} s and was stopped`);
    }, timeoutMs);
    const collect = (chunk: Buffer) => {
      const room = maxOutputBytes - kept;
      if (room > 0) chunks.push(chunk.subarray(0, room));
      kept += Math.min(room, chunk.length);
      dropped += Math.max(0, chunk.length - Math.max(room, 0));
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    for (const stream of [child.stdout, child.stderr]) stream.on('error', () => {});
    child.on('error', (error: NodeJS.ErrnoException) =>
      finish(`could not run (${error.code ?? error.message})`),
    );
    child.on('exit', (code, signal) => {
      const problem =
        code === 0 ? undefined : `exited with ${signal !== null ? `signal ${signal}` : `code ${code}`}`;
      // Its pipes may still hold what it wrote last; a background child may hold them open for ever.
      drain = setTimeout(() => finish(problem), DRAIN_MS);
      child.once('close', () => finish(problem));
    });
    child.stdin.on('error', () => {}); // a command that does not read its input is not our failure
    child.stdin.end(`${JSON.stringify(summary, null, 2)}\n`);
  });
}

/**
 * The program to run: a path as given (config loading refuses a relative one), or a bare name looked up in PATH's
 * absolute folders.
 */
export function findProgram(file: string, path: string | undefined = process.env.PATH): string | undefined {
  const candidates = file.includes('/')
    ? [resolve(file)]
    : (path ?? '')
        .split(delimiter)
        // An empty or relative PATH entry means the working folder, which is anyone's guess for a hook or a timer.
        .filter((dir) => isAbsolute(dir))
        .map((dir) => join(dir, file));
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  // A path that is there but not runnable is still "the program": spawn says why it cannot run it.
  return file.includes('/') ? resolve(file) : undefined;
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}
