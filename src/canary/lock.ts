/**
 * Whether Certbot holds its lock (`.certbot.lock` in its config folder): Certbot takes it with a POSIX record lock
 * (fcntl) for the whole run, which node cannot test for directly, so the kernel's list of held locks
 * (/proc/locks) is read and matched by the lock file's device and inode.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function certbotLockHeld(certbotDir: string, procLocks = '/proc/locks'): boolean {
  let info;
  try {
    info = statSync(join(certbotDir, '.certbot.lock'));
  } catch {
    return false; // no lock file: no Certbot has run with this folder
  }
  let text: string;
  try {
    text = readFileSync(procLocks, 'utf8');
  } catch {
    return false;
  }
  const dev = info.dev;
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 0x100000) & ~0xff);
  const id = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${info.ino}`;
  return text.split('\n').some((line) => line.split(/\s+/).includes(id));
}
