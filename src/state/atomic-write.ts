import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { processTag } from './lock.js';

/**
 * A temp file of ours: `.queue.TAG.HEX.tmp`, TAG naming the process that writes it as lock.ts's processTag does
 * (`PID-START-NS`; a bare PID without /proc, and from builds before it): what processGone checks. A bare pid would
 * be judged in this PID namespace, where a writer in a container sharing the folder is not found (its file removed
 * while it is written) and a reused pid keeps a dead writer's file for ever.
 */
const TEMP = /^\.queue\.(\d+(?:-\d+-\d+)?)\.[0-9a-f]+\.tmp$/;

export function isTempFile(name: string): boolean {
  return TEMP.test(name);
}

/** The tag of the process that wrote this temp file (for processGone); undefined when the name is not one of ours. */
export function tempFileOwner(name: string): string | undefined {
  return TEMP.exec(name)?.[1];
}

/**
 * Removes every temp file of ours in `folder`: for the state folder, by the run that holds the queue's lock (every
 * write there is made under it, so any temp file found is what a killed write left).
 */
export async function removeTempFiles(folder: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(folder);
  } catch {
    return;
  }
  for (const name of names) if (isTempFile(name)) await rm(join(folder, name), { force: true });
}

/** How much of a file goes to the disk at once. */
const WRITE_BATCH = 64 * 1024;

/**
 * Writes `text` (or its pieces, in order) to a temporary file beside `file` (mode 0600), syncs it, renames it over
 * `file` and syncs the folder: a reader sees the old file or the new one, never part of either, and a crash after
 * this returns keeps the new one.
 */
export async function atomicWrite(file: string, text: string | Iterable<string>): Promise<void> {
  const folder = dirname(file);
  const temp = join(folder, `.queue.${processTag() ?? process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    // writeFile, not write: on a disk that fills up part way through, write(2) writes what fits and says so
    // without an error (a short write); writeFile writes the rest, which then fails. A piece cut short and renamed
    // over queue.json would lose every entry after it. Each writeFile goes on from where the last one ended.
    if (typeof text === 'string') await handle.writeFile(text);
    else for (const piece of batched(text, WRITE_BATCH)) await handle.writeFile(piece);
    await handle.sync();
  } catch (error) {
    // A full disk: leave no temp file behind (each run would add one, and none would ever go).
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  await rename(temp, file);
  await syncFolder(folder);
}

/** The pieces joined into strings of about `size` characters (the last may be shorter). */
function* batched(pieces: Iterable<string>, size: number): Generator<string> {
  let batch = '';
  for (const piece of pieces) {
    batch += piece;
    if (batch.length >= size) {
      yield batch;
      batch = '';
    }
  }
  if (batch !== '') yield batch;
}

/**
 * Syncs the folder's entries (the rename) to the disk. Opened as a folder only and without blocking: a FIFO swapped in
 * at the folder's path since the write would otherwise block the open for ever (and Certbot waits for its hooks
 * without a timeout); anything but a folder fails with ENOTDIR at once.
 */
export async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
