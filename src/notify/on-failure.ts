import { spawn } from 'node:child_process';
import type { Log } from '../log/logger.js';

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
}

/** Environment variables the command must not inherit. */
const SECRET_ENV = ['IMPERVA_API_KEY'];

/**
 * Runs the configured onFailure command (argv, no shell) with the summary as JSON on stdin. Its failure — not
 * found, non-zero exit, no end within `timeoutMs` — is logged as a warning, never fatal: the run's outcome stands.
 */
export async function runOnFailure(
  command: readonly string[],
  summary: FailureSummary,
  log: Log,
  timeoutMs = 60_000,
): Promise<void> {
  const [file, ...args] = command;
  if (file === undefined) return;
  const env = { ...process.env };
  for (const name of SECRET_ENV) delete env[name];
  await new Promise<void>((resolve) => {
    let output = '';
    let settled = false;
    const finish = (problem?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (problem !== undefined) log.warn(`onFailure command ${file} ${problem}`);
      else
        log.debug(`onFailure command ${file} ran${output.trim() ? `: ${output.trim().slice(0, 500)}` : ''}`);
      resolve();
    };
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env, shell: false });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(`did not finish within ${timeoutMs / 1000} s and was stopped`);
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (error: NodeJS.ErrnoException) =>
      finish(`could not run (${error.code ?? error.message})`),
    );
    child.on('close', (code, signal) =>
      finish(code === 0 ? undefined : `exited with ${signal !== null ? `signal ${signal}` : `code ${code}`}`),
    );
    child.stdin.on('error', () => {}); // a command that does not read its input is not our failure
    child.stdin.end(`${JSON.stringify(summary, null, 2)}\n`);
  });
}
