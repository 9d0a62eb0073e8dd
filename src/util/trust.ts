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
