import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWrite, isTempFile, tempFileOwner } from './atomic-write.js';
import { EntryIndex } from './entry-index.js';
import { processGone } from './lock.js';
import { MAX_DROP_BYTES, parseQueueText, readQueueText, serializeQueue } from './queue-file.js';
import type { QueueEntry } from './schema.js';

/**
 * `queue.d/`: changes written aside, each in a file of its own, by a run that must not wait for the queue's lock
 * (a run's intent before its uploads, or a change made while another run held the lock too long). The next run that
 * holds the lock merges them into `queue.json` and removes them.
 *
 * Each file gets queue.json's care: read only when it is a regular file, at most 16 MiB, owned by root or the running
 * user and writable by no one else. A file that is not, that does not parse (our writes are whole: a temp file renamed
 * into place, so a cut-off `.json` is damage, not a write in progress), or that holds entries the schema refuses, is
 * renamed `NAME.rejected` by the run that holds the lock and reported; its valid entries are merged. Nothing in the
 * folder is deleted unread, and nothing in it stops the rest of the queue.
 */

/** Writes `entries` to a new file in the folder (or over `replace`, a file of this run's); returns its path. */
export async function writeDropFile(
  dropDir: string,
  entries: readonly QueueEntry[],
  stamp: string,
  replace?: string,
): Promise<string> {
  await mkdir(dropDir, { recursive: true, mode: 0o700 });
  const file = replace ?? join(dropDir, `${stamp}-${process.pid}-${randomBytes(4).toString('hex')}.json`);
  await atomicWrite(file, serializeQueue(entries));
  return file;
}

/** Whether the folder holds any change. */
export async function holdsDropFiles(dropDir: string): Promise<boolean> {
  return (await dropFileNames(dropDir)).length > 0;
}

export interface DropMerge {
  /** The files merged whole, to remove once queue.json holds them. */
  merged: string[];
  /** Files that are not (all) a valid change: with the lock, renamed `NAME.rejected` once queue.json holds the rest. */
  rejected: { file: string; problem: string }[];
}

/**
 * Merges every change in the folder into `entries`, in the order they were written (whichever certificate expires
 * later wins). `own` is this run's own file and what it wrote there, merged from memory rather than read back (for a
 * run over thousands of sites, megabytes parsed again at its peak).
 */
export async function mergeDropFolder(
  dropDir: string,
  entries: QueueEntry[],
  own: { file: string; entries: readonly QueueEntry[] } | undefined,
): Promise<DropMerge> {
  const result: DropMerge = { merged: [], rejected: [] };
  let index: EntryIndex | undefined;
  for (const name of await dropFileNames(dropDir)) {
    const file = join(dropDir, name);
    let changes: readonly QueueEntry[];
    if (file === own?.file) changes = own.entries;
    else {
      const read = await readQueueText(file, MAX_DROP_BYTES);
      if (read === undefined) continue; // merged and removed by another run meanwhile
      if ('unusable' in read) {
        result.rejected.push({ file, problem: `not read: ${read.unusable}` });
        continue;
      }
      const parsed = parseQueueText(read.text);
      if (parsed === undefined) {
        result.rejected.push({ file, problem: 'not a queue file (cut off or damaged)' });
        continue;
      }
      changes = parsed.entries;
      if (parsed.rejected.length > 0) {
        const problems = parsed.rejected.map((item) => item.problem).join('; ');
        result.rejected.push({
          file,
          problem: `${parsed.rejected.length} entr${parsed.rejected.length === 1 ? 'y is' : 'ies are'} not valid (${problems}); the others were merged`,
        });
      } else result.merged.push(file);
    }
    if (file === own?.file) result.merged.push(file);
    index ??= new EntryIndex(entries);
    for (const entry of changes) index.upsert(entry, 'merge');
  }
  return result;
}

/** Renames a rejected change aside, where no run reads it again; returns the new name. */
export async function setAside(file: string): Promise<string> {
  const aside = `${file}.rejected`;
  await rename(file, aside);
  return aside;
}

/**
 * Removes the temp files of writes into the folder that were killed part way: only those whose writer is provably
 * gone (lock.ts, processGone: a run that does not hold the lock writes here too, perhaps from a container).
 */
export async function removeDeadTempFiles(dropDir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dropDir);
  } catch {
    return;
  }
  for (const name of names) {
    const tag = tempFileOwner(name);
    if (tag === undefined) continue;
    const temp = join(dropDir, name);
    try {
      const info = await lstat(temp);
      if (info.isFile() && processGone(tag, info.mtimeMs)) await rm(temp, { force: true });
    } catch {
      // gone already
    }
  }
}

async function dropFileNames(dropDir: string): Promise<string[]> {
  try {
    return (await readdir(dropDir)).filter((name) => name.endsWith('.json') && !isTempFile(name)).sort();
  } catch {
    return [];
  }
}
