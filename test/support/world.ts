/** One test's world: a fresh fake Imperva API, a config pointing at it, and a temp folder. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FakeImperva } from './fake-imperva.js';
import { newApiKey, tempDir, writeConfig } from './harness.js';
import type { Leaf } from './pki.js';

export const API_ID = '12345';

export interface World {
  fake: FakeImperva;
  dir: string;
  apiKey: string;
  configFile: string;
  stateDir: string;
  queueFile: string;
  /** The environment for the CLI: the config path (the key is in the config file, mode 0600). */
  env: Record<string, string>;
  close(): Promise<void>;
}

export interface WorldOptions {
  /** site id → domain, on the fake. */
  sites?: Record<string, string>;
  /** The config's `sites` map. */
  map?: Record<string, unknown>;
  /** More config fields. */
  config?: Record<string, unknown>;
}

export async function createWorld(options: WorldOptions = {}): Promise<World> {
  const apiKey = newApiKey();
  const fake = await FakeImperva.start({
    apiId: API_ID,
    apiKey,
    sites: options.sites ?? { '1234567': 'example.com', '7654321': 'www.example.com' },
  });
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const configFile = writeConfig(dir, {
    api: { id: API_ID, key: apiKey, baseUrl: fake.url, v3BaseUrl: fake.url },
    sites: options.map ?? { 'example.com': 1234567, 'www.example.com': [7654321] },
    stateDir,
    // Retries as in production, but without the waits.
    retryDelaySeconds: 0.01,
    ...options.config,
  });
  return {
    fake,
    dir,
    apiKey,
    configFile,
    stateDir,
    queueFile: join(stateDir, 'queue.json'),
    env: { INCAP_CERT_CONFIG: configFile },
    close: () => fake.close(),
  };
}

/** Every form a secret could take in output: the API key (plain, base64) and the private key (PEM lines, base64). */
export function secretsOf(apiKey: string, ...leaves: Leaf[]): string[] {
  const secrets = [apiKey, Buffer.from(apiKey).toString('base64').replace(/=+$/, '')];
  for (const leaf of leaves) {
    secrets.push(Buffer.from(leaf.keyPem).toString('base64').slice(0, 40));
    for (const line of leaf.keyPem.split('\n')) if (/^[A-Za-z0-9+/=]{16,}$/.test(line)) secrets.push(line);
  }
  return secrets;
}

export function assertNoSecrets(texts: Record<string, string>, secrets: readonly string[]): void {
  for (const [where, text] of Object.entries(texts)) {
    for (const secret of secrets) assert.ok(!text.includes(secret), `a secret appears in ${where}`);
    assert.ok(!/PRIVATE KEY-----/.test(text), `a PEM private key appears in ${where}`);
  }
}

/** One line per expected failure, and never a stack trace. */
export function assertOneLineError(stderr: string, pattern: RegExp): void {
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `expected one stderr line, got:\n${stderr}`);
  assert.match(lines[0] ?? '', pattern);
  assert.doesNotMatch(stderr, /^\s+at /m);
}
