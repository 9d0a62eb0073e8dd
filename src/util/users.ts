import { readFileSync } from 'node:fs';

/**
 * The uid of a user named in the config (`sources` owner): a number or a string of digits is a uid, a name is looked
 * up in /etc/passwd (users only a directory service knows are written as uids). Undefined when there is no such user.
 */
export function uidOf(user: string | number): number | undefined {
  if (typeof user === 'number') return user;
  if (/^\d+$/.test(user)) return Number(user);
  let passwd: string;
  try {
    passwd = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of passwd.split('\n')) {
    const [name, , uid] = line.split(':');
    if (name === user && uid !== undefined && /^\d+$/.test(uid)) return Number(uid);
  }
  return undefined;
}
