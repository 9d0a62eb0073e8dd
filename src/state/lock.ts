import { LockTimeoutError } from '../model/errors.js';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, open, unlink } from 'node:fs/promises';

export interface LockOptions {
  /** Give up after waiting this long for another process's lock. */
  waitMs?: number;
  /**
   * A lock whose holder cannot be checked (a lock written by incap-cert 0.1, which holds only a pid; a system without
   * /proc) is taken to be left behind by a crashed run when it is older than this. A holder that can be checked is
   * never judged by age: it is alive or it is not.
   */
  staleMs?: number;
}

/** The lock could not be taken within `waitMs`: another run holds it. The caller records its change elsewhere. */
export class LockBusyError extends LockTimeoutError {
  constructor(
    readonly file: string,
    waitedMs: number,
  ) {
    super(`lock ${file} is held by another incap-cert run (waited ${Math.round(waitedMs / 1000)} s)`);
  }
}

/** What a lock file holds: who holds it, in a form that survives pid reuse and reboots. */
interface Holder {
  pid: number;
  /** The process's start time, in clock ticks since boot (/proc/PID/stat field 22): a reused pid has another. */
  start?: string | undefined;
  /** /proc/sys/kernel/random/boot_id: a lock from before a reboot is stale whatever its pid. */
  boot?: string | undefined;
  /** Unique to this taking of the lock. */
  token?: string | undefined;
}

/** A lock file as read: its holder (undefined when it does not parse), its age, and what identifies this very file. */
interface Seen {
  holder: Holder | undefined;
  ageMs: number;
  /** Hash of the file's inode and bytes: a new lock at the same name, even with the same pid, is another identity. */
  identity: string;
}

/**
 * Holds `file` while `fn` runs, so that a Certbot hook run and a timer-driven `sync` at the same moment take turns —
 * forty of them too. The critical sections are a read, a change and an atomic write: milliseconds.
 *
 * - Taking: the holder's record is written to a unique temporary file, which is then hard-linked to `file`. link()
 *   is atomic and fails with EEXIST while the lock is held, so the lock file is never seen half-written.
 * - Judging: a lock is stale only when its holder is gone — another boot, no such pid, or the pid now belongs to a
 *   process that started at another time (a reused pid). A live holder is waited for, however long it takes; a
 *   holder that cannot be checked (an 0.1 lock, no /proc) is stale after `staleMs`.
 * - Taking over: only one process may remove a given stale lock. It must first create a marker named after that
 *   lock's identity (`file.takeover-ID-1`, atomic like the lock); it then removes `file` only if it still is the lock
 *   it judged. A stale lock is never released by its dead holder, so nothing can replace it in between, and a fresh
 *   lock is never removed. A marker whose own maker died is passed over to the next number.
 * - Releasing: the holder removes `file` only if it still holds its own token.
 */
export async function withLock<T>(file: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const waitMs = options.waitMs ?? 15_000;
  const staleMs = options.staleMs ?? 120_000;
  const me = self();
  const started = Date.now();
  for (;;) {
    if (await create(file, me)) break;
    const seen = await look(file);
    if (seen !== undefined && isStale(seen, staleMs)) {
      await takeOver(file, seen, staleMs);
      continue;
    }
    if (Date.now() - started > waitMs) throw new LockBusyError(file, waitMs);
    await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 40));
  }
  try {
    return await fn();
  } finally {
    await release(file, me);
  }
}

/** This process, with a fresh token. */
function self(): Holder {
  return {
    pid: process.pid,
    start: startTime(process.pid),
    boot: bootId(),
    token: randomBytes(12).toString('hex'),
  };
}

/** Creates `file` holding `holder`, atomically; false when it exists. */
async function create(file: string, holder: Holder): Promise<boolean> {
  const temp = `${file}.${holder.token ?? randomBytes(12).toString('hex')}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(holder)}\n`);
  } catch (error) {
    // A full disk: leave no temp file behind (each run would add one, and none would ever go).
    await handle.close();
    await unlink(temp).catch(() => {});
    throw error;
  }
  await handle.close();
  try {
    await link(temp, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw error;
    // A file system without hard links: O_EXCL creation, written at once (a reader may see it empty for an instant,
    // which is "being written", not stale).
    return createExclusive(file, holder);
  } finally {
    await unlink(temp).catch(() => {});
  }
}

async function createExclusive(file: string, holder: Holder): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(`${JSON.stringify(holder)}\n`);
  } catch (error) {
    // An empty lock left by a full disk would read as "being written" to every later run.
    await handle.close();
    await unlink(file).catch(() => {});
    throw error;
  }
  await handle.close();
  return true;
}

/** Reads a lock (or marker) file: its holder, age and identity, from one open file. Undefined when it is gone. */
async function look(file: string): Promise<Seen | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const info = await handle.stat();
    const bytes = await handle.readFile();
    return {
      holder: parseHolder(bytes.toString('utf8')),
      ageMs: Date.now() - info.mtimeMs,
      identity: createHash('sha256')
        .update(`${info.dev}:${info.ino}:`)
        .update(bytes)
        .digest('hex')
        .slice(0, 24),
    };
  } catch {
    return undefined;
  } finally {
    await handle.close();
  }
}

function parseHolder(text: string): Holder | undefined {
  // incap-cert 0.1 wrote the pid alone.
  if (/^\s*\d+\s*$/.test(text)) return { pid: Number(text) };
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    if (!Number.isInteger(value.pid) || (value.pid ?? 0) <= 0) return undefined;
    return {
      pid: value.pid as number,
      start: typeof value.start === 'string' ? value.start : undefined,
      boot: typeof value.boot === 'string' ? value.boot : undefined,
      token: typeof value.token === 'string' ? value.token : undefined,
    };
  } catch {
    return undefined;
  }
}

function isStale(seen: Seen, staleMs: number): boolean {
  if (seen.holder === undefined) return seen.ageMs > 2_000; // being written (no hard links), or junk
  const alive = liveness(seen.holder);
  return alive === 'dead' || (alive === 'unknown' && seen.ageMs > staleMs);
}

/** Whether the process that wrote a lock is still running — the same process, not one that got its pid since. */
function liveness(holder: Holder): 'alive' | 'dead' | 'unknown' {
  const boot = bootId();
  if (holder.boot !== undefined && boot !== undefined && holder.boot !== boot) return 'dead';
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'dead';
    // EPERM: it exists, as another user.
  }
  if (holder.start === undefined) return 'unknown';
  const start = startTime(holder.pid);
  if (start === undefined) return 'unknown';
  return start === holder.start ? 'alive' : 'dead';
}

/**
 * Removes the stale lock `seen` — and only it. The right to remove it is a marker file named after its identity
 * that one process alone can create; that process then removes `file` only if it still has the same identity.
 */
async function takeOver(file: string, seen: Seen, staleMs: number): Promise<void> {
  for (let attempt = 1; attempt <= 100; attempt += 1) {
    const marker = `${file}.takeover-${seen.identity}-${attempt}`;
    const me = self();
    if (await create(marker, me)) {
      try {
        const now = await look(file);
        if (now?.identity === seen.identity) await unlink(file).catch(() => {});
      } finally {
        await release(marker, me);
      }
      return;
    }
    const other = await look(marker);
    // Another process is taking it over: let it.
    if (other === undefined || !isStale(other, staleMs)) return;
    // Its maker died in the middle: the next number. (Its marker is left: removing it could let two in at once.)
  }
}

/** Removes `file` if it still holds `holder`'s token. */
async function release(file: string, holder: Holder): Promise<void> {
  const seen = await look(file);
  if (seen?.holder?.token !== undefined && seen.holder.token === holder.token) {
    await unlink(file).catch(() => {});
  }
}

let boot: string | null | undefined;
function bootId(): string | undefined {
  if (boot === undefined) {
    try {
      boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      boot = null;
    }
  }
  return boot ?? undefined;
}

/** Field 22 of /proc/PID/stat (start time in clock ticks after boot); the command name (field 2) may hold spaces. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}
