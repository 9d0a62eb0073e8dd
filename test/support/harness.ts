/** Runs the built CLI as a child process, the way Certbot does, with a controlled environment. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'dist', 'cli.cjs');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli.js ARGS` with only PATH, HOME and `env` in its environment. */
export function runCli(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<CliResult> {
  return runCommand(process.execPath, [CLI, ...args], env);
}

export function runCommand(
  command: string,
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

const made: string[] = [];
// Every temporary folder a test file makes goes when its process ends (set INCAP_CERT_KEEP_TEMP=1 to look at them).
process.on('exit', () => {
  if (process.env.INCAP_CERT_KEEP_TEMP === '1') return;
  for (const dir of made) rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
});

export function tempDir(prefix = 'incap-cert-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** A fresh API key for each test run: a long random string that must never show up anywhere. */
export function newApiKey(): string {
  return `key-${randomBytes(18).toString('hex')}`;
}

export function writeConfig(dir: string, config: unknown, mode = 0o600): string {
  const file = join(dir, 'config.json');
  // Tests run as root in CI: a config without a state folder would write to the real /var/lib/incap-cert (the
  // ARI cache of status and check), which the Debian package's end-to-end test then finds in its way.
  const withState =
    typeof config === 'object' && config !== null && !Array.isArray(config) && !('stateDir' in config)
      ? { ...config, stateDir: join(dir, 'state') }
      : config;
  writeFileSync(file, JSON.stringify(withState, null, 2), { mode });
  chmodSync(file, mode);
  return file;
}

/**
 * Runs the built CLI with `probe` (CommonJS source) preloaded (`node --require`); the probe writes what it saw to
 * the file named by PROBE_OUT at exit, returned as `probed`.
 */
export async function runProbed(
  probe: string,
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<CliResult & { probed: string }> {
  const dir = tempDir();
  const file = join(dir, 'probe.cjs');
  const out = join(dir, 'probed');
  writeFileSync(file, probe);
  const result = await runCommand(process.execPath, ['--require', file, CLI, ...args], {
    ...env,
    PROBE_OUT: out,
  });
  return { ...result, probed: readFileSync(out, 'utf8') };
}
