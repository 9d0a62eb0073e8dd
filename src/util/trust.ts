import { lstatSync, realpathSync, statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * incap-cert runs as root: a file it trusts (its config, the onFailure program, the retry queue's folder) must not be
 * writable by anyone root did not allow. A path is refused when it, or the folder that holds it, is writable by
 * group or others — except a sticky folder owned by root, such as /tmp, where others cannot replace what they do not
 * own — or is owned by a user other than root and the user running incap-cert.
 */
export function untrustedReason(path: string): string | undefined {
  const given = resolve(path);
  let real = given;
  let info: Stats;
  try {
    info = lstatSync(given);
    // A symbolic link: judge what it points at, and the folders of both (whoever can write the link's folder can
    // point it elsewhere).
    if (info.isSymbolicLink()) {
      real = realpathSync.native(given);
      info = statSync(real);
    }
  } catch {
    return undefined; // missing or unreadable: the caller reports that in its own words
  }
  const own = ownReason(real, info, false);
  if (own !== undefined) return own;
  for (const folder of new Set([dirname(real), dirname(given)])) {
    try {
      const reason = ownReason(folder, statSync(folder), true);
      if (reason !== undefined) return reason;
    } catch {
      // a folder we cannot stat: the caller's own read reports what matters
    }
  }
  return undefined;
}

/**
 * Whether the folder itself is one to trust (the state folder). No exception for sticky folders here: in a sticky
 * folder others can still create the files we would read.
 */
export function untrustedFolderReason(folder: string): string | undefined {
  try {
    const given = resolve(folder);
    const link = lstatSync(given);
    if (link.isSymbolicLink()) {
      // Whoever owns the link, or can replace it, chooses where root reads and writes: a link planted in /tmp by
      // another user is refused even when it points at a folder root owns. (A link's own mode means nothing.)
      const me = process.getuid?.() ?? 0;
      if (link.uid !== 0 && link.uid !== me) {
        return `${given} is a symbolic link owned by user ${link.uid}, not by root${me === 0 ? '' : ` or user ${me}`}`;
      }
      const reason = ownReason(dirname(given), statSync(dirname(given)), true);
      if (reason !== undefined) return reason;
    }
    const real = realpathSync(folder);
    return ownReason(real, statSync(real), false);
  } catch {
    return undefined;
  }
}

function ownReason(path: string, info: Stats, isFolder: boolean): string | undefined {
  const me = process.getuid?.() ?? 0;
  if (info.uid !== 0 && info.uid !== me) {
    return `${path} is owned by user ${info.uid}, not by root${me === 0 ? '' : ` or user ${me}`}`;
  }
  const writable = (info.mode & 0o022) !== 0;
  const stickyRoot = isFolder && (info.mode & 0o1000) !== 0 && info.uid === 0;
  if (writable && !stickyRoot) {
    const mode = (info.mode & 0o7777).toString(8).padStart(4, '0');
    return `${path} is writable by group or others (mode ${mode}); run: chmod go-w ${path}`;
  }
  return undefined;
}

/** Who may have written a file that root uploads, and why it is refused when someone else could have. */
export type WritersVerdict =
  | { refused: string; /** the owner who is not allowed, when that is the reason */ stranger?: number }
  | { refused?: undefined; stranger?: undefined; byOwner: boolean };

/**
 * Whether `path` (a certificate or key) was written only by root, the running user or `owner` (a source's named
 * owner): the file and every folder above it up to `top` (included) must be owned by one of them and not writable
 * by group or others — along the path as given and along the real path its links lead to (up to `top`'s real path
 * when the file lies beneath it, else up to /). A link counts by its owner alone (its mode means nothing): a system
 * folder such as /etc/letsencrypt may be a link, trusted when root owns it and what it points at. A folder owned by
 * root with the sticky bit (/tmp) passes: others cannot replace what they do not own there. `byOwner` says whether
 * anything on the way belongs to `owner`, who could then have written the file.
 */
export function writersOf(path: string, top: string, owner?: number): WritersVerdict {
  const me = process.getuid?.() ?? 0;
  const allowed = new Set([0, me, ...(owner === undefined ? [] : [owner])]);
  const given = resolve(path);
  let real: string;
  let realTop: string;
  try {
    real = realpathSync.native(given);
    realTop = realpathSync.native(resolve(top));
    // A FIFO, a device or a socket is never a certificate: the caller's read refuses it by its kind.
    const kind = lstatSync(real);
    if (!kind.isFile() && !kind.isDirectory()) return { byOwner: false };
  } catch {
    return { byOwner: false }; // missing or unreadable: the caller's read reports that in its own words
  }
  let byOwner = false;
  for (const [start, end] of [
    [given, resolve(top)],
    [real, real.startsWith(`${realTop}/`) ? realTop : '/'],
  ] as const) {
    for (let current = start; ; current = dirname(current)) {
      let info: Stats;
      try {
        info = lstatSync(current);
      } catch {
        return { byOwner }; // gone while looked at: the read that follows says so
      }
      const mode = (info.mode & 0o7777).toString(8).padStart(4, '0');
      if (!allowed.has(info.uid)) {
        const who = `root${me === 0 ? '' : ` or user ${me}`}${owner === undefined || owner === 0 || owner === me ? '' : ` or user ${owner}`}`;
        return {
          refused: `${current} is owned by user ${info.uid} (mode ${mode}), not by ${who}`,
          stranger: info.uid,
        };
      }
      if (info.uid !== 0 && info.uid !== me) byOwner = true;
      const sticky = info.isDirectory() && (info.mode & 0o1000) !== 0 && info.uid === 0;
      if (!info.isSymbolicLink() && (info.mode & 0o022) !== 0 && !sticky) {
        return {
          refused: `${current} is writable by group or others (owner user ${info.uid}, mode ${mode}); run: chmod go-w ${current}`,
        };
      }
      if (current === end || current === dirname(current)) break;
    }
  }
  return { byOwner };
}
