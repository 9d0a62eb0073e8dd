/**
 * A retry queue written as an earlier run left it (queue.json, version 3), and what it holds after a run: for the
 * tests of what sync does with what is owed.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Leaf } from './pki.js';
import type { World } from './world.js';

export interface EntryOptions {
  siteId: string;
  names: string[];
  lineage?: string;
  cert?: string;
  key?: string;
  authType?: 'RSA' | 'ECC';
  fingerprint?: string;
  explicit?: boolean;
}

/** One failed entry of the queue: from a lineage, or from the files `push --cert/--key` named. */
export function queueEntry(options: EntryOptions): Record<string, unknown> {
  const cert = options.cert ?? join(options.lineage ?? '', 'fullchain.pem');
  const key = options.key ?? join(options.lineage ?? '', 'privkey.pem');
  return {
    siteId: options.siteId,
    authType: options.authType ?? 'ECC',
    names: options.names,
    source: options.lineage === undefined ? { cert, key } : { cert, key, lineage: options.lineage },
    fingerprint: options.fingerprint ?? 'ab'.repeat(32),
    notAfter: '2027-01-01T00:00:00.000Z',
    state: 'failed',
    explicit: options.explicit ?? false,
    since: '2026-11-20T00:00:00.000Z',
    lastError: 'HTTP 503',
    attempts: 4,
    unreachedSince: '2026-11-20T00:00:00.000Z',
  };
}

export function queueText(entries: unknown[]): string {
  return JSON.stringify({ version: 3, entries });
}

export function writeQueue(stateDir: string, entries: unknown[]): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(stateDir, 'queue.json'), queueText(entries), { mode: 0o600 });
}

/** `SITE/KEYTYPE` of each entry queue.json holds; none when there is no queue. */
export function queuedSites(stateDir: string): string[] {
  const file = join(stateDir, 'queue.json');
  if (!existsSync(file)) return [];
  const queue = JSON.parse(readFileSync(file, 'utf8')) as { entries: { siteId: string; authType: string }[] };
  return queue.entries.map((one) => `${one.siteId}/${one.authType}`);
}

/**
 * What `push --cert FILE --key FILE --site-id SITE` leaves owed: an explicit entry for `names` naming the two
 * files, recorded with `recorded`'s fingerprint; the files hold `written` (when given) — the same certificate, or
 * another since.
 */
export function queuedFilesPush(
  w: World,
  options: { siteId: string; names: string[]; recorded: Leaf; written?: Leaf },
): { dir: string; cert: string; key: string } {
  const dir = join(w.dir, 'files');
  mkdirSync(dir);
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  if (options.written !== undefined) {
    writeFileSync(cert, options.written.fullchainPem);
    writeFileSync(key, options.written.keyPem, { mode: 0o600 });
  }
  writeQueue(w.stateDir, [
    queueEntry({
      siteId: options.siteId,
      names: options.names,
      cert,
      key,
      explicit: true,
      fingerprint: options.recorded.fingerprint,
    }),
  ]);
  return { dir, cert, key };
}
