/**
 * The record of an install: PREFIX/share/incap-cert/installed.json lists every file `install` wrote, with the
 * SHA-256 of the content it wrote, and the folders it made. `uninstall` removes a file only while it still holds that
 * content — a file changed since, or rewritten by another install (Certbot's drop-in and the cron line are shared by
 * every prefix), stays — and a folder only when install made it and it is empty. Paths are as on the installed system
 * (without --destdir).
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import * as v from 'valibot';
import { ExitCode } from '../model/errors.js';
import { parseStrictJson, StrictJsonError } from '../util/strict-json.js';
import { untrustedReason } from '../util/trust.js';
import { InstallError } from './errors.js';

export const RECORD_NAME = 'installed.json';

/** Far above what install writes (a few hundred bytes); a larger file is not ours and is not read. */
const MAX_RECORD_BYTES = 1024 * 1024;

const path = v.pipe(
  v.string(),
  v.maxLength(4096),
  v.check(
    (value) => value.startsWith('/') && posix.normalize(value) === value && !value.endsWith('/'),
    'must be an absolute path without "..", "." or "//"',
  ),
);

const RecordSchema = v.strictObject({
  format: v.literal(1),
  prefix: path,
  files: v.pipe(
    v.array(v.strictObject({ path, sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)) })),
    v.maxLength(1000),
  ),
  folders: v.pipe(v.array(path), v.maxLength(1000)),
});
export type InstallRecord = v.InferOutput<typeof RecordSchema>;

export function sha256(content: string): string {
  return createHash('sha256').update(content).digest('hex');
}

export function renderRecord(record: InstallRecord): string {
  return `${JSON.stringify(record, null, 2)}\n`;
}

/**
 * The record at `file` (as here, under --destdir), or undefined when there is none (nothing installed, or an install
 * older than the record). Anything else that is not a record install could have written — a link, a folder, a file
 * too large, writable by others, not strict JSON, another prefix's — is refused (exit 2) rather than guessed at:
 * uninstall removes what it names.
 */
export async function readRecord(file: string, prefix: string): Promise<InstallRecord | undefined> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw refuse(file, code === 'ELOOP' ? 'is a symbolic link' : `cannot be read (${code ?? 'error'})`);
  }
  let text: string;
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw refuse(file, 'is not a regular file');
    if (info.size > MAX_RECORD_BYTES) throw refuse(file, 'is larger than 1 MiB');
    const untrusted = untrustedReason(file);
    if (untrusted !== undefined) throw refuse(file, `cannot be trusted: ${untrusted}`);
    const buffer = Buffer.alloc(MAX_RECORD_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_RECORD_BYTES) throw refuse(file, 'is larger than 1 MiB');
    text = buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
  let raw: unknown;
  try {
    raw = parseStrictJson(text);
  } catch (error) {
    if (error instanceof StrictJsonError) throw refuse(file, `is not valid JSON: ${error.message}`);
    throw error;
  }
  const parsed = v.safeParse(RecordSchema, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const where = v.getDotPath(issue) ?? 'the top level';
    throw refuse(file, `is not an install record: ${where}: ${issue.message}`);
  }
  if (parsed.output.prefix !== prefix) {
    throw refuse(file, `records the prefix ${parsed.output.prefix}, not ${prefix}`);
  }
  return parsed.output;
}

function refuse(file: string, what: string): InstallError {
  return new InstallError(
    `refusing the install record ${file}: it ${what}; remove it or put it right, then run again`,
    ExitCode.Usage,
  );
}
