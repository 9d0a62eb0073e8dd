/**
 * The canary's token file in a production web root: written only inside the challenge folder, only when every
 * folder on the way is owned by someone allowed and writable by no one else, and always taken away again with the
 * folders it created. The rules are in docs/canary.md.
 */
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  closeSync,
  constants,
  fchownSync,
  lstatSync,
  mkdirSync,
  openSync,
  realpathSync,
  rmdirSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

export interface PlacedToken {
  token: string;
  file: string;
  /** Folders this run created, deepest last; removed (when empty) with the file. */
  created: string[];
}

/** A token as an ACME CA makes one: 32 random bytes, 43 base64url characters. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Why `folder` (the challenge folder, `root/.well-known/acme-challenge` or dehydrated's WELLKNOWN) may not be
 * written, or undefined. `owners` are the uids allowed besides root and the running user (the client's user,
 * config canaryOwners). `setting` names where to allow another owner.
 */
export function unsafeReason(
  root: string,
  folder: string,
  owners: readonly number[],
  setting: string,
): string | undefined {
  const allowed = new Set([0, process.getuid?.() ?? 0, ...owners]);
  const given = resolve(root);
  let realRoot: string;
  try {
    realRoot = realpathSync.native(given);
  } catch (error) {
    return `web root ${given} cannot be used (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`;
  }
  // Every folder from / down to the web root, along the real path, then the parts below it that exist: none of
  // those below may be a link, so nothing lands outside the folder the configuration names.
  const below = relative(given, resolve(folder));
  if (below.startsWith('..')) return `challenge folder ${folder} is not inside web root ${given}`;
  const chain: string[] = [];
  for (let dir = realRoot; ; dir = dirname(dir)) {
    chain.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  let at = realRoot;
  for (const part of below === '' ? [] : below.split(sep)) {
    at = join(at, part);
    chain.push(at);
  }
  for (const path of chain) {
    let info;
    try {
      info = lstatSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') break; // created by the canary itself
      return `${path} cannot be used (${(error as NodeJS.ErrnoException).code ?? 'unknown error'})`;
    }
    if (info.isSymbolicLink()) return `${path} is a symbolic link inside web root ${given}`;
    if (!info.isDirectory()) return `${path} is not a folder`;
    const stickyRoot = info.uid === 0 && (info.mode & 0o1000) !== 0;
    if ((info.mode & 0o022) !== 0 && !stickyRoot) {
      return `${path} is writable by group or others (mode ${(info.mode & 0o7777).toString(8).padStart(4, '0')})`;
    }
    if (!allowed.has(info.uid)) {
      return `${path} belongs to uid ${info.uid}, not to root, the ACME client's user or a user in config ${setting}`;
    }
  }
  return undefined;
}

/**
 * Creates the missing folders (mode 0755, owned as the web root, as Certbot's webroot plugin leaves them) and the
 * token file (0644, O_EXCL|O_NOFOLLOW: never an existing file, never through a link), owned by `owner` (the ACME
 * client's user, who owns the challenge files it writes) when given. On failure nothing is left.
 */
export function placeToken(
  root: string,
  folder: string,
  token = newToken(),
  owner?: { uid: number; gid: number },
): PlacedToken {
  const rootInfo = lstatSync(resolve(root));
  const placed: PlacedToken = { token, file: join(folder, token), created: [] };
  let opened = false;
  try {
    const missing: string[] = [];
    for (let dir = resolve(folder); dir !== resolve(root) && !exists(dir); dir = dirname(dir))
      missing.unshift(dir);
    for (const dir of missing) {
      mkdirSync(dir, { mode: 0o755 });
      placed.created.push(dir);
      chownSync(dir, rootInfo.uid, rootInfo.gid);
    }
    const fd = openSync(
      placed.file,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o644,
    );
    opened = true;
    try {
      if (owner !== undefined) fchownSync(fd, owner.uid, owner.gid);
      writeSync(fd, token);
    } finally {
      closeSync(fd);
    }
    return placed;
  } catch (error) {
    removeToken(opened ? placed : { ...placed, file: '' });
    throw error;
  }
}

/** Removes the token file and, deepest first, the folders this run created when they are empty. Never throws. */
export function removeToken(placed: PlacedToken): void {
  if (placed.file !== '') {
    try {
      unlinkSync(placed.file);
    } catch {
      // already gone
    }
  }
  for (const dir of [...placed.created].reverse()) {
    try {
      rmdirSync(dir);
    } catch {
      break; // not empty: the web server or the client put something there since
    }
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
