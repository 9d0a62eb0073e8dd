import { randomBytes } from 'node:crypto';
import { access, mkdir, open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { CertificateFiles, KeyType } from '../certificate/read.js';
import type { Log } from '../log/logger.js';
import { withLock } from './lock.js';

/** One site whose push failed and is still owed its certificate. Holds no secret: paths, not key material. */
export interface QueueEntry {
  siteId: string;
  authType: KeyType;
  names: string[];
  /** Where the certificate came from; `lineage` when it was a live folder (its newest files win at delivery). */
  source: CertificateFiles;
  /** SHA-256 of the leaf that failed to reach the site. */
  fingerprint: string;
  notAfter: string;
  lastError: string;
  /** Attempts made for this certificate, across runs. */
  attempts: number;
  firstFailure: string;
  lastFailure: string;
}

export interface Failure {
  siteId: string;
  authType: KeyType;
  names: string[];
  source: CertificateFiles;
  fingerprint: string;
  notAfter: Date;
  error: string;
  attempts: number;
}

export interface Delivered {
  siteId: string;
  notAfter: Date;
}

interface QueueFile {
  version: 1;
  entries: QueueEntry[];
}

export class QueueError extends Error {}

/**
 * The durable retry queue: `queue.json` under stateDir (folder 0700, file 0600), changed only under a lock and
 * written atomically (temp file, fsync, rename, fsync of the folder), so that concurrent runs can neither corrupt
 * nor drop entries. A file that does not parse is kept aside and reported, never silently dropped.
 */
export class Queue {
  readonly file: string;
  private readonly lockFile: string;

  constructor(
    readonly stateDir: string,
    private readonly log: Log,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.file = join(stateDir, 'queue.json');
    this.lockFile = join(stateDir, 'queue.lock');
  }

  /** The entries as they are now (no lock: a reader sees the last complete write). */
  async entries(): Promise<QueueEntry[]> {
    return (await this.load(false)) ?? [];
  }

  /** Records failures and removes what was delivered, in one locked, atomic change. */
  async settle(failures: readonly Failure[], delivered: readonly Delivered[]): Promise<QueueEntry[]> {
    // Deliveries alone change nothing when nothing is queued: a clean run does not touch stateDir.
    if (failures.length === 0 && (delivered.length === 0 || !(await exists(this.file))))
      return this.entries();
    return this.change((entries) => {
      let next = entries.filter(
        (entry) =>
          !delivered.some(
            (done) => done.siteId === entry.siteId && done.notAfter.getTime() >= Date.parse(entry.notAfter),
          ),
      );
      const at = this.now().toISOString();
      for (const failure of failures) {
        const same = next.find(
          (entry) => entry.siteId === failure.siteId && entry.authType === failure.authType,
        );
        // A newer certificate for the site replaces the entry; an older one never displaces a newer.
        if (same !== undefined && Date.parse(same.notAfter) > failure.notAfter.getTime()) continue;
        const carried = same !== undefined && same.fingerprint === failure.fingerprint;
        next = next.filter((entry) => entry !== same);
        next.push({
          siteId: failure.siteId,
          authType: failure.authType,
          names: failure.names,
          source: failure.source,
          fingerprint: failure.fingerprint,
          notAfter: failure.notAfter.toISOString(),
          lastError: failure.error,
          attempts: (carried ? same.attempts : 0) + failure.attempts,
          firstFailure: carried ? same.firstFailure : at,
          lastFailure: at,
        });
      }
      return next;
    });
  }

  private async change(fn: (entries: QueueEntry[]) => QueueEntry[]): Promise<QueueEntry[]> {
    try {
      await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
      return await withLock(this.lockFile, async () => {
        const next = fn((await this.load(true)) ?? []);
        await this.write(next);
        return next;
      });
    } catch (error) {
      if (error instanceof QueueError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw new QueueError(
        `cannot update the retry queue in ${this.stateDir} (${code ?? (error as Error).message})`,
      );
    }
  }

  /** Reads the file; a corrupt one is renamed aside (when `mayMove`, i.e. under the lock) and reported. */
  private async load(mayMove: boolean): Promise<QueueEntry[] | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new QueueError(`cannot read the retry queue ${this.file} (${code ?? 'unknown error'})`);
    }
    const entries = parseQueue(text);
    if (entries !== undefined) return entries;
    if (!mayMove) {
      this.log.warn(`retry queue ${this.file} is corrupt; the next change will keep it aside`);
      return [];
    }
    const aside = `${this.file}.corrupt-${this.now().toISOString().replace(/[:.]/g, '-')}`;
    await rename(this.file, aside);
    this.log.warn(
      `retry queue ${this.file} was corrupt; kept aside as ${aside} (sync rebuilds what it owed from the live certificates)`,
    );
    return [];
  }

  private async write(entries: QueueEntry[]): Promise<void> {
    const body: QueueFile = { version: 1, entries };
    const temp = join(this.stateDir, `.queue.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(body, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.file);
    const folder = await open(this.stateDir, 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

function parseQueue(text: string): QueueEntry[] | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<QueueFile>;
    if (parsed.version !== 1 || !Array.isArray(parsed.entries)) return undefined;
    const valid = parsed.entries.every(
      (entry) =>
        typeof entry === 'object' &&
        entry !== null &&
        typeof entry.siteId === 'string' &&
        typeof entry.fingerprint === 'string' &&
        typeof entry.source?.cert === 'string',
    );
    return valid ? parsed.entries : undefined;
  } catch {
    return undefined;
  }
}
