/**
 * The installer's file work, done so that a reader never sees half a file and nothing is written through a
 * symbolic link: every file is made under a fresh temporary name beside its destination (fs-extra copies the
 * executable there, or moves a staged file there, across file systems when the staging folder is on another one),
 * given its mode, and renamed over the destination — which replaces a running executable atomically, and replaces a
 * symbolic link itself rather than the file it points to (a link found there beforehand is refused instead).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, link, lstat, open, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import fse from 'fs-extra';
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

/** Writes `dest` whole, with `mode`, replacing what is there (a regular file) in one rename. */
export async function placeFile(dest: string, source: Source, mode: number, staging: string): Promise<void> {
  const temp = await prepare(dest, source, mode, staging);
  try {
    if ((await kindOf(dest)) === 'link') throw symlinkRefusal(dest);
    await guard(dest, 'write', () => rename(temp, dest));
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

/** Removes a file, a link (not what it points to) or a folder of ours. False when nothing was there. */
export async function removePath(path: string): Promise<boolean> {
  const kind = await kindOf(path);
  if (kind === undefined) return false;
  await guard(path, 'remove', () => (kind === 'folder' ? fse.remove(path) : unlink(path)));
  return true;
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
