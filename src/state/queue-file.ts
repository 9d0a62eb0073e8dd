import { constants, lstatSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { StateError } from '../model/errors.js';
import { untrustedFolderReason, untrustedReason } from '../util/trust.js';
import { parseQueueFile, QUEUE_VERSION, type ParsedQueue, type QueueEntry } from './schema.js';

/**
 * Why the queue must not be used, if it must not: a state folder, queue file or `queue.d` folder that others could
 * have written. queue.d holds changes that are merged as they are (explicit entries included): it is trusted like
 * the folder.
 */
export function untrustedQueueReason(stateDir: string, file: string, dropDir: string): string | undefined {
  return untrustedFolderReason(stateDir) ?? untrustedFileReason(file) ?? untrustedFolderReason(dropDir);
}

/**
 * The queue file's own owner and mode. A symbolic link there is never followed (readQueueText refuses it by its kind
 * and it is set aside), so what it points at is not judged: a link to /dev/zero must not stop the queue with advice
 * to chmod /dev/zero.
 */
function untrustedFileReason(file: string): string | undefined {
  try {
    if (lstatSync(file).isSymbolicLink()) return undefined;
  } catch {
    return undefined; // missing: nothing to judge
  }
  return untrustedReason(file);
}

/** The largest `queue.json` read: thousands of sites are a few MiB; anything larger is not ours. */
export const MAX_QUEUE_BYTES = 64 * 1024 * 1024;
/** The largest file in `queue.d/` read: one run's changes. */
export const MAX_DROP_BYTES = 16 * 1024 * 1024;

/** A queue file read: its text, or why it was not read (then it is set aside, unread). */
export type QueueRead = { text: string } | { unusable: string };

/**
 * A queue file's text; undefined when there is none. Opened without following a link and without blocking (a FIFO
 * or a device there would hang the run, a folder would fail it), and read only when it is a regular file of at most
 * `maxBytes` that root or the running user owns and no one else can write: anything else is `unusable`, with why.
 */
export async function readQueueText(file: string, maxBytes: number): Promise<QueueRead | undefined> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP') return { unusable: 'it is a symbolic link' };
    throw new StateError(`cannot read the state file ${file} (${code ?? 'unknown error'})`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) return { unusable: 'it is not a regular file' };
    const me = process.getuid?.() ?? 0;
    if (info.uid !== 0 && info.uid !== me) return { unusable: `it is owned by user ${info.uid}` };
    if ((info.mode & 0o022) !== 0) {
      return {
        unusable: `it is writable by group or others (mode ${(info.mode & 0o7777).toString(8).padStart(4, '0')})`,
      };
    }
    const tooLarge = { unusable: `it is larger than ${maxBytes / 1024 / 1024} MiB` };
    if (info.size > maxBytes) return tooLarge;
    // At most one byte past the bound is read: a file that grew since the check (or whose size the file system
    // does not tell, as /proc's) is refused by that byte, never read whole.
    const chunks: Buffer[] = [];
    let read = 0;
    for await (const chunk of handle.createReadStream({ start: 0, end: maxBytes, autoClose: false })) {
      chunks.push(chunk as Buffer);
      read += (chunk as Buffer).length;
    }
    if (read > maxBytes) return tooLarge;
    return { text: Buffer.concat(chunks).toString('utf8') };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new StateError(`cannot read the state file ${file} (${code ?? 'unknown error'})`);
  } finally {
    await handle.close();
  }
}

/** A queue file's entries, migrated to this version; undefined when the text is not a queue file (corrupt). */
export function parseQueueText(text: string): ParsedQueue | undefined {
  try {
    return parseQueueFile(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/**
 * The queue file's text, `JSON.stringify({ version, entries }, null, 2)` and a newline, in pieces of an entry
 * each: a queue of thousands of sites is megabytes, and as one string (and its bytes) it would be the largest thing
 * a run holds, at its peak.
 */
export function* serializeQueue(entries: readonly QueueEntry[]): Generator<string> {
  if (entries.length === 0) {
    yield `{\n  "version": ${QUEUE_VERSION},\n  "entries": []\n}\n`;
    return;
  }
  yield `{\n  "version": ${QUEUE_VERSION},\n  "entries": [`;
  for (let index = 0; index < entries.length; index += 1) {
    const entry = JSON.stringify(entries[index], null, 2).replaceAll('\n', '\n    ');
    yield `${index === 0 ? '' : ','}\n    ${entry}`;
  }
  yield '\n  ]\n}\n';
}
