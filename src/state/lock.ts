import { open, readFile, rm, stat } from 'node:fs/promises';

export interface LockOptions {
  /** Give up after waiting this long for another process's lock. */
  waitMs?: number;
  /** A lock older than this is taken to be left behind by a crashed run. */
  staleMs?: number;
}

/**
 * Holds `file` (created with O_EXCL, holding our pid) while `fn` runs, so that a Certbot hook run and a
 * timer-driven `sync` at the same moment take turns. A lock whose process is gone, or that is older than `staleMs`,
 * is taken over. The critical sections are a read, a change and an atomic write: milliseconds.
 */
export async function withLock<T>(file: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const waitMs = options.waitMs ?? 15_000;
  const staleMs = options.staleMs ?? 120_000;
  const started = Date.now();
  for (;;) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (await isStale(file, staleMs)) {
        await rm(file, { force: true });
        continue;
      }
      if (Date.now() - started > waitMs) {
        throw new Error(
          `lock ${file} is held by another incap-cert run (waited ${Math.round(waitMs / 1000)} s)`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 30));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(file, { force: true });
  }
}

async function isStale(file: string, staleMs: number): Promise<boolean> {
  try {
    const [text, info] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    if (Date.now() - info.mtimeMs > staleMs) return true;
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 0) return Date.now() - info.mtimeMs > 1_000; // being written, or junk
    if (pid === process.pid) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  } catch {
    return false; // gone already: the next open decides
  }
}
