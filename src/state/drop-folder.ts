import { randomBytes } from 'node:crypto';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWrite } from './atomic-write.js';
import { EntryIndex } from './entry-index.js';
import { parseQueueText, readQueueText, serializeQueue } from './queue-file.js';
import type { QueueEntry } from './schema.js';

/**
 * `queue.d/`: changes written aside, each in a file of its own, by a run that must not wait for the queue's lock
 * (a run's intent before its uploads, or a change made while another run held the lock too long). The next run that
 * holds the lock merges them into `queue.json` and removes them.
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

/**
 * Merges every change in the folder into `entries`, in the order they were written (whichever certificate expires
 * later wins); returns the files merged. `own` is this run's own file and what it wrote there, merged from memory
 * rather than read back (for a run over thousands of sites, megabytes parsed again at its peak). A file that does not
 * parse (being written, or junk) is left for a later run.
 */
export async function mergeDropFolder(
  dropDir: string,
  entries: QueueEntry[],
  own: { file: string; entries: readonly QueueEntry[] } | undefined,
): Promise<string[]> {
  const merged: string[] = [];
  let index: EntryIndex | undefined;
  for (const name of await dropFileNames(dropDir)) {
    const file = join(dropDir, name);
    const changes =
      file === own?.file ? own.entries : parseQueueText((await readQueueText(file)) ?? '')?.entries;
    if (changes === undefined) continue;
    index ??= new EntryIndex(entries);
    for (const entry of changes) index.upsert(entry, 'merge');
    merged.push(file);
  }
  return merged;
}

async function dropFileNames(dropDir: string): Promise<string[]> {
  try {
    return (await readdir(dropDir)).filter((name) => name.endsWith('.json')).sort();
  } catch {
    return [];
  }
}
