/**
 * The installer's file work, done so that a reader never sees half a file and nothing is written through a
 * symbolic link: every file is made under a fresh temporary name beside its destination (fs-extra copies the
 * executable there, or moves a staged file there, across file systems when the staging folder is on another one),
 * given its mode, and renamed over the destination — which replaces a running executable atomically, and replaces a
 * symbolic link itself rather than the file it points to (a link found there beforehand is refused instead). Files
 * are read without following links, and removed one by one: never a folder with what is in it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import {
  chmod,
  link,
  lstat,
  open,
  realpath,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import fse from 'fs-extra';
import { ExitCode } from '../model/errors.js';
import { InstallError } from './errors.js';

export type Source = { content: string } | { file: string };

/** The file's type at `path` without following a link, or undefined when nothing is there. */
export async function kindOf(path: string): Promise<'file' | 'folder' | 'link' | 'other' | undefined> {
  try {
    const info = await lstat(path);
    if (info.isSymbolicLink()) return 'link';
    if (info.isDirectory()) return 'folder';
    return info.isFile() ? 'file' : 'other';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fsError(error, path, 'read');
  }
}

/**
 * A folder of incap-cert's own (its config, state and hooks folders): created when missing, given `mode` either way.
 * The mode is set through a descriptor opened without following links, so a link put in its place is refused.
 */
export async function ownFolder(dir: string, mode: number): Promise<void> {
  // The folders above are the system's (/etc, /var/lib): made 0755 when missing (under a destdir), never changed.
  await guard(dirname(dir), 'create', () => fse.ensureDir(dirname(dir), { mode: 0o755 }));
  await guard(dir, 'create', () => fse.ensureDir(dir, { mode }));
  const handle = await guard(dir, 'open', () =>
    open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW),
  );
  try {
    await guard(dir, 'set the mode of', () => handle.chmod(mode));
  } finally {
    await handle.close();
  }
}

/**
 * Writes `dest` whole, with `mode`, replacing what is there (a regular file) in one rename. Returns the SHA-256 of
 * what it wrote, for the install record.
 */
export async function placeFile(
  dest: string,
  source: Source,
  mode: number,
  staging: string,
): Promise<string> {
  const temp = await prepare(dest, source, mode, staging);
  try {
    const digest = await fileDigest(temp);
    if (digest === undefined) throw new InstallError(`${temp} is not the file just written; refusing`);
    if ((await kindOf(dest)) === 'link') throw symlinkRefusal(dest);
    await guard(dest, 'write', () => rename(temp, dest));
    return digest;
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/**
 * Writes `dest` only when nothing is there (the config template: never overwritten). A hard link of the finished
 * temporary file is atomic and fails when `dest` exists, even if it appeared a moment ago. False when kept.
 */
export async function placeNewFile(
  dest: string,
  source: Source,
  mode: number,
  staging: string,
): Promise<boolean> {
  if ((await kindOf(dest)) !== undefined) return false;
  const temp = await prepare(dest, source, mode, staging);
  try {
    await link(temp, dest);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw fsError(error, dest, 'write');
  } finally {
    await rm(temp, { force: true });
  }
}

/**
 * The SHA-256 of the regular file at `path`, opened without following a link (and without blocking on a FIFO), or
 * undefined when nothing is there or it is not a regular file.
 */
export async function fileDigest(path: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') return undefined;
    throw fsError(error, path, 'read');
  }
  try {
    if (!(await handle.stat()).isFile()) return undefined;
    const hash = createHash('sha256');
    await guard(path, 'read', () => pipeline(handle.createReadStream({ autoClose: false }), hash));
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}

/** Removes the one file at `path` (the caller has checked that it is a regular file of ours). */
export async function removeFile(path: string): Promise<void> {
  await guard(path, 'remove', () => unlink(path));
}

/** Removes the folder at `path` when it is empty (rmdir); false when it holds anything, or is gone. */
export async function removeEmptyFolder(path: string): Promise<boolean> {
  try {
    await rmdir(path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw fsError(error, path, 'remove');
  }
}

/**
 * Refuses (exit 2) a symbolic link among the folders on the way from `root` (the --destdir, or '' for /) to `path`
 * (as on the installed system), since what is written or removed below it lands wherever the link points. A system
 * folder may be a link where root owns both the link and its target, and only root can write the target — merged
 * /usr (/usr/sbin → bin), or /etc/letsencrypt on a volume in a container; under --destdir only when the target is
 * inside the destdir too.
 */
export async function refuseLinksOnTheWay(root: string, path: string): Promise<void> {
  const folders = path
    .split('/')
    .filter((part) => part !== '')
    .slice(0, -1);
  let at = root || '/';
  for (const folder of folders) {
    at = join(at, folder);
    let info;
    try {
      info = await lstat(at);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // made from here on
      throw fsError(error, at, 'read');
    }
    if (!info.isSymbolicLink()) continue;
    const why = await linkRefusalReason(root, at, info.uid);
    if (why !== undefined) {
      throw new InstallError(
        `${at} is a symbolic link ${why}; incap-cert writes nothing through it`,
        ExitCode.Usage,
      );
    }
  }
}

async function linkRefusalReason(root: string, at: string, linkOwner: number): Promise<string | undefined> {
  let real: string;
  let target;
  try {
    real = await realpath(at);
    target = await stat(real);
  } catch {
    return 'to nothing that exists';
  }
  if (root !== '') {
    const realRoot = await realpath(root);
    if (real !== realRoot && !real.startsWith(`${realRoot}/`)) return `to ${real}, outside --destdir ${root}`;
  }
  if (linkOwner !== 0 || target.uid !== 0)
    return `to ${real}, and root does not own both the link and its target`;
  if ((target.mode & 0o022) !== 0) return `to ${real}, which group or others can write`;
  return undefined;
}

/** The finished file under a fresh name beside `dest`: same folder, so that the final rename is atomic. */
async function prepare(dest: string, source: Source, mode: number, staging: string): Promise<string> {
  const dir = dirname(dest);
  await guard(dir, 'create', () => fse.ensureDir(dir, { mode: 0o755 }));
  const temp = join(dir, `.${basename(dest)}.incap-cert-${randomBytes(6).toString('hex')}`);
  try {
    if ('file' in source) {
      await guard(dest, 'write', () =>
        fse.copy(source.file, temp, { overwrite: false, errorOnExist: true, dereference: true }),
      );
    } else {
      const staged = join(staging, randomBytes(6).toString('hex'));
      await writeFile(staged, source.content, { flag: 'wx', mode: 0o600 });
      await guard(dest, 'write', () => fse.move(staged, temp, { overwrite: false }));
    }
    if ((await kindOf(temp)) !== 'file')
      throw new InstallError(`${temp} is not the file just written; refusing`);
    await guard(dest, 'write', () => chmod(temp, mode));
    return temp;
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export function symlinkRefusal(path: string): InstallError {
  return new InstallError(
    `${path} is a symbolic link; incap-cert writes nothing through one: remove it first`,
    ExitCode.Usage,
  );
}

async function guard<T>(path: string, verb: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw fsError(error, path, verb);
  }
}

const REASONS: Record<string, string> = {
  EACCES: 'permission denied (run it as root, with sudo)',
  EPERM: 'not permitted (run it as root, with sudo)',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  ENOTDIR: 'a folder on the way is a file',
  EEXIST: 'something else is in the way',
  ELOOP: 'it is a symbolic link; incap-cert writes nothing through one',
  EISDIR: 'it is a folder',
};

function fsError(error: unknown, path: string, verb: string): InstallError {
  if (error instanceof InstallError) return error;
  const code = (error as NodeJS.ErrnoException).code;
  const reason = (code !== undefined && REASONS[code]) || (code ?? (error as Error).message);
  return new InstallError(`could not ${verb} ${path}: ${reason}`);
}

/**
 * A small regular file's text (the target's config, its machine-id), or undefined when it is missing, not a regular
 * file or larger than `maxBytes`. Opened without blocking and checked on its descriptor: a FIFO at the path (under
 * --destdir, wherever the staging folder's owner put it) would hang install for ever. `follow: false` refuses a link.
 */
export function readSmallFile(path: string, maxBytes: number, follow = true): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | (follow ? 0 : constants.O_NOFOLLOW));
  } catch {
    return undefined;
  }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (let read = -1; read !== 0 && length < buffer.length; length += read) {
      read = readSync(fd, buffer, length, buffer.length - length, null);
    }
    return length > maxBytes ? undefined : buffer.subarray(0, length).toString('utf8');
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}
