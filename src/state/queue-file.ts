import { readFile } from 'node:fs/promises';
import { StateError } from '../model/errors.js';
import { untrustedFolderReason, untrustedReason } from '../util/trust.js';
import { parseQueueFile, QUEUE_VERSION, type ParsedQueue, type QueueEntry } from './schema.js';

/**
 * Why the queue must not be used, if it must not: a state folder, queue file or `queue.d` folder that others could
 * have written. queue.d holds changes that are merged as they are (explicit entries included): it is trusted like
 * the folder.
 */
export function untrustedQueueReason(stateDir: string, file: string, dropDir: string): string | undefined {
  return untrustedFolderReason(stateDir) ?? untrustedReason(file) ?? untrustedFolderReason(dropDir);
}

/** A queue file's text; undefined when there is none. */
export async function readQueueText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new StateError(`cannot read the retry queue ${file} (${code ?? 'unknown error'})`);
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
