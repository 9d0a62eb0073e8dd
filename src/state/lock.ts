import { LockTimeoutError } from '../model/errors.js';
import { onAbort } from '../util/abort.js';
import { createHash, randomBytes } from 'node:crypto';
import { constants, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { link, lstat, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { uptime } from 'node:os';

export interface LockOptions {
  /** Give up after waiting this long for another process's lock. */
  waitMs?: number;
  /**
   * A lock whose holder cannot be checked (a lock written by incap-cert 0.1, which holds only a pid; a system without
   * /proc) is taken to be left behind by a crashed run when it is older than this. A holder that can be checked is
   * never judged by age: it is alive or it is not.
   */
  staleMs?: number;
  /** The run's deadline (ms since the epoch): the wait ends by then, whatever `waitMs` says. */
  deadlineAt?: number | undefined;
  /** The run is asked to stop (SIGTERM): the wait ends at once, as if the lock were busy. */
  signal?: AbortSignal | undefined;
  /**
   * Where something that is not a lock may be moved out of the way (the state folder, which only root writes): it is
   * renamed `FILE.rejected-TIME`, unread, this is told what was done, and the lock is taken. Without it, such a path
   * is refused (LockUnusableError) and left where it is.
   */
  setAside?: ((message: string) => void) | undefined;
}

/** Ours hold about 150 bytes; anything bigger at a lock path is not a lock, and is not read. */
const MAX_LOCK_BYTES = 4096;

/** The lock could not be taken within `waitMs`: another run holds it. The caller records its change elsewhere. */
export class LockBusyError extends LockTimeoutError {
  constructor(
    readonly file: string,
    waitedMs: number,
    /** The holder runs in another PID namespace (a container): alive or not, this host cannot tell. */
    elsewhere?: number,
  ) {
    super(
      elsewhere === undefined
        ? `lock ${file} is held by another incap-cert run (waited ${Math.round(waitedMs / 1000)} s)`
        : `lock ${file} is held by an incap-cert run in another PID namespace (pid ${elsewhere} there), which cannot be checked from here (waited ${Math.round(waitedMs / 1000)} s)`,
    );
  }
}

/** The run was asked to stop while it waited for the lock: the caller records its change elsewhere, as for a busy lock. */
export class LockStoppedError extends LockTimeoutError {
  constructor(readonly file: string) {
    super(`the run was asked to stop while it waited for lock ${file}`);
  }
}

/**
 * What is at a lock path is not a lock incap-cert writes (a FIFO, a device, a folder, a symbolic link, a file bigger
 * than a lock): it is not read, not waited for, and not removed — root does not remove what someone else put there.
 * The caller records its change elsewhere, as for a busy lock; in the state folder it is moved aside instead
 * (LockOptions.setAside).
 */
export class LockUnusableError extends LockTimeoutError {
  constructor(
    readonly file: string,
    readonly what: string,
    /** The device and inode of what was judged (`DEV-INO`): only that is set aside. */
    readonly seen?: string,
  ) {
    super(`lock ${file} is ${what}, not a lock file; not read. ${clearing(file)}`);
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
  /** The PID namespace (/proc/self/ns/pid): the pid means something only in this namespace. */
  ns?: string | undefined;
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
  const giveUpAt = Math.min(started + waitMs, options.deadlineAt ?? Infinity);
  let setAsideOnce = false;
  for (;;) {
    if (await create(file, me)) break;
    let seen;
    try {
      seen = await look(file);
    } catch (error) {
      // Once: something that keeps coming back at the path is someone's doing, and refused.
      if (!(error instanceof LockUnusableError) || options.setAside === undefined || setAsideOnce)
        throw error;
      const aside = await setAsideJudged(file, error);
      if (aside !== undefined) {
        setAsideOnce = true;
        options.setAside(`lock ${file} was ${error.what}, not a lock file; not read, kept aside as ${aside}`);
        continue;
      }
      // Another run is setting it aside, or has (and may hold the lock by now): look again, within the wait.
      if (options.signal?.aborted === true) throw new LockStoppedError(file);
      if (Date.now() >= giveUpAt) throw error;
      await pause(Math.min(10 + Math.random() * 40, giveUpAt - Date.now()), options.signal);
      continue;
    }
    if (seen !== undefined && isStale(seen, staleMs)) {
      await takeOver(file, seen, staleMs);
      continue;
    }
    if (options.signal?.aborted === true) throw new LockStoppedError(file);
    if (Date.now() >= giveUpAt) {
      const holder = seen?.holder;
      throw new LockBusyError(
        file,
        Date.now() - started,
        holder !== undefined && liveness(holder) === 'elsewhere' ? holder.pid : undefined,
      );
    }
    await pause(Math.min(10 + Math.random() * 40, giveUpAt - Date.now()), options.signal);
  }
  try {
    await removeLeftTemps(file);
    return await fn();
  } finally {
    await release(file, me);
  }
}

/** Waits `ms`, or less when `signal` aborts first. */
async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted === true) return;
  let stopListening = () => {};
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (signal !== undefined)
      stopListening = onAbort(signal, () => {
        clearTimeout(timer);
        resolve();
      });
  });
  stopListening();
}

/** This process, with a fresh token. */
function self(): Holder {
  return {
    pid: process.pid,
    start: startTime(process.pid),
    boot: bootId(),
    token: randomBytes(12).toString('hex'),
    ns: pidNamespace(),
  };
}

/** Creates `file` holding `holder`, atomically; false when it exists. */
async function create(file: string, holder: Holder): Promise<boolean> {
  // Named after this process, so that a later run can tell whether a temp file a kill left behind is still in use.
  const temp = `${file}.${processTag() ?? process.pid}.${randomBytes(4).toString('hex')}.tmp`;
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

/**
 * Reads a lock (or marker) file: its holder, age and identity, from one open file. Undefined when it is gone.
 * Only a regular file of at most MAX_LOCK_BYTES is opened, without following a link and without blocking: a FIFO at
 * the path would block the open (and Certbot waits for its hooks without a timeout), a link to /dev/zero would never
 * end. Anything else throws LockUnusableError.
 */
async function look(file: string): Promise<Seen | undefined> {
  let walked: string;
  try {
    const info = await lstat(file);
    walked = inode(info);
    if (!info.isFile()) throw new LockUnusableError(file, kindOf(info), inode(info));
    if (info.size > MAX_LOCK_BYTES) throw new LockUnusableError(file, `${info.size} bytes`, inode(info));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let handle;
  try {
    handle = await open(
      file,
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY,
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    // Replaced by a link since lstat.
    // (Judged by the file lstat saw, the link is looked at again before anything is set aside.)
    if (code === 'ELOOP') throw new LockUnusableError(file, 'a symbolic link', walked);
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new LockUnusableError(file, kindOf(info), inode(info));
    const buffer = Buffer.alloc(MAX_LOCK_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_LOCK_BYTES)
      throw new LockUnusableError(file, `more than ${MAX_LOCK_BYTES} bytes`, inode(info));
    const bytes = buffer.subarray(0, bytesRead);
    return {
      holder: parseHolder(bytes.toString('utf8')),
      ageMs: Date.now() - info.mtimeMs,
      identity: createHash('sha256')
        .update(`${info.dev}:${info.ino}:`)
        .update(bytes)
        .digest('hex')
        .slice(0, 24),
    };
  } finally {
    await handle.close();
  }
}

function inode(info: Stats): string {
  return `${info.dev}-${info.ino}`;
}

/**
 * Sets aside what `error` judged, and only it, as `file.rejected-TIME`; undefined when another run is setting it
 * aside or it is no longer at the path. Runs arriving at once all judge the same FIFO: a rename by each would move
 * the lock the first had just taken (two holders at once). As for a stale lock (takeOver), the right to move it is a
 * marker named after it that one process alone can create, and the path is moved only while it is still that inode
 * (a set-aside inode stays in use, so no new lock can have its number).
 */
async function setAsideJudged(file: string, error: LockUnusableError): Promise<string | undefined> {
  if (error.seen === undefined) throw error;
  const marker = `${file}.aside-${error.seen}`;
  const me = self();
  if (!(await create(marker, me))) return undefined;
  try {
    const now = await lstat(file).catch(() => undefined);
    if (now === undefined || inode(now) !== error.seen) return undefined;
    const aside = `${file}.rejected-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    try {
      await rename(file, aside);
    } catch (failure) {
      if ((failure as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return aside;
  } finally {
    await release(marker, me);
  }
}

function kindOf(info: Stats): string {
  if (info.isSymbolicLink()) return 'a symbolic link';
  if (info.isFIFO()) return 'a FIFO';
  if (info.isDirectory()) return 'a folder';
  if (info.isCharacterDevice() || info.isBlockDevice()) return 'a device';
  if (info.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The one command that clears a lock path, quoted for a POSIX shell. */
function clearing(file: string): string {
  return `If no incap-cert run is running, clear it with: rm -- '${file.replace(/'/g, "'\\''")}'`;
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
      ns: typeof value.ns === 'string' ? value.ns : undefined,
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

/**
 * Whether the process that wrote a lock is still running — the same process, not one that got its pid since.
 * `elsewhere`: it ran in another PID namespace (a container sharing the folder), where its pid names another process
 * or none; nothing on this side proves it dead, so it is never judged stale, only waited for.
 */
function liveness(holder: Holder): 'alive' | 'dead' | 'unknown' | 'elsewhere' {
  const boot = bootId();
  if (holder.boot !== undefined && boot !== undefined && holder.boot !== boot) return 'dead';
  if (holder.ns !== undefined && holder.ns !== pidNamespace()) return 'elsewhere';
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

/** Removes the temp files that runs killed while taking this lock left beside it, once their writers are gone. */
async function removeLeftTemps(file: string): Promise<void> {
  const prefix = `${basename(file)}.`;
  let names: string[];
  try {
    names = await readdir(dirname(file));
  } catch {
    return;
  }
  for (const name of names) {
    const match = name.startsWith(prefix)
      ? /^([\d-]+)\.[0-9a-f]{8}\.tmp$/.exec(name.slice(prefix.length))
      : null;
    if (match === null) continue;
    const temp = join(dirname(file), name);
    try {
      const info = await lstat(temp);
      if (info.isFile() && processGone(match[1] ?? '', info.mtimeMs)) await unlink(temp);
    } catch {
      // gone already
    }
  }
}

/** Removes `file` if it still holds `holder`'s token. */
async function release(file: string, holder: Holder): Promise<void> {
  // Something else put at the path while we held it is not ours to remove.
  const seen = await look(file).catch(() => undefined);
  if (seen?.holder?.token !== undefined && seen.holder.token === holder.token) {
    await unlink(file).catch(() => {});
  }
}

/**
 * A lock at `file` that a person should look at, in one line with the command that clears it: one older than a day
 * (no run holds the queue for a day; its holder is dead, or alive where this host cannot check), or something at
 * the path that is not a lock. Undefined when there is none, or it is young.
 */
export async function lockProblem(file: string): Promise<string | undefined> {
  let seen;
  try {
    seen = await look(file);
  } catch (error) {
    if (error instanceof LockUnusableError) return error.message;
    return `lock ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  }
  if (seen === undefined) return undefined;
  if (seen.ageMs <= 24 * 3600_000) return undefined;
  const holder = seen.holder;
  const by =
    holder === undefined
      ? ''
      : ` by pid ${holder.pid}${liveness(holder) === 'elsewhere' ? ' in another PID namespace' : ''}`;
  const since = new Date(Date.now() - seen.ageMs).toISOString();
  return `lock ${file} has been held${by} since ${since}, more than a day. ${clearing(file)}`;
}

/** The locks a run takes: the retry queue's, and the metrics file's when there is one. */
export function runLocks(stateDir: string, metricsFile: string | undefined): string[] {
  return [join(stateDir, 'queue.lock'), ...(metricsFile === undefined ? [] : [`${metricsFile}.lock`])];
}

/**
 * Whether the process that `pid` and `start` name (as written into a temp file's name by processTag) is provably
 * gone: no such pid, or one that started at another time, in this PID namespace. A writer that is provably running
 * is never gone, whatever the file's time says (a clock set forward after boot, as NTP does on a host without a
 * real-time clock, makes a file written a moment ago look older than the boot). Only what cannot be checked — a bare
 * pid still running, a name from another namespace — is judged by the time: written before this boot, it is gone.
 */
export function processGone(tag: string, modifiedMs: number): boolean {
  const match = /^(\d+)(?:-(\d+)-(\d+))?$/.exec(tag);
  if (match === null) return false;
  const [, pid, start, ns] = match;
  const beforeBoot = modifiedMs < Date.now() - uptime() * 1000;
  if (ns !== undefined && ns !== namespaceNumber()) return beforeBoot;
  try {
    process.kill(Number(pid), 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return true;
    // EPERM: it exists, as another user.
  }
  const now = start === undefined ? undefined : startTime(Number(pid));
  if (now !== undefined) return now !== start;
  return beforeBoot;
}

/** `PID-START-NS` of this process, for a temp file's name: what processGone checks. Undefined without /proc. */
export function processTag(): string | undefined {
  const start = startTime(process.pid);
  const ns = namespaceNumber();
  if (start === undefined || ns === undefined) return undefined;
  return `${process.pid}-${start}-${ns}`;
}

let ns: string | null | undefined;
function pidNamespace(): string | undefined {
  if (ns === undefined) {
    try {
      ns = readlinkSync('/proc/self/ns/pid');
    } catch {
      ns = null;
    }
  }
  return ns ?? undefined;
}

/** The namespace's inode number alone ("pid:[4026531836]" → "4026531836"). */
function namespaceNumber(): string | undefined {
  return /\[(\d+)\]/.exec(pidNamespace() ?? '')?.[1];
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
