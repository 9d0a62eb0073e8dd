/**
 * What the Debian package installed: dpkg lists every path of a package in /var/lib/dpkg/info/incap-cert.list
 * (incap-cert:ARCH.list for a multi-arch one). The installer neither overwrites nor removes those — that is apt's job.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const PACKAGE = 'incap-cert';

/** The paths among `paths` (absolute, as on the installed system) that dpkg owns, under `root` ('' for /). */
export async function dpkgOwned(root: string, paths: readonly string[]): Promise<string[]> {
  const info = join(root || '/', 'var', 'lib', 'dpkg', 'info');
  let names: string[];
  try {
    names = await readdir(info);
  } catch {
    return []; // no dpkg here
  }
  const owned = new Set<string>();
  for (const name of names.filter((file) => /^incap-cert(:[a-z0-9]+)?\.list$/.test(file))) {
    for (const line of (await readFile(join(info, name), 'utf8')).split('\n')) {
      if (line !== '') owned.add(line);
    }
  }
  return paths.filter((path) => owned.has(path));
}
