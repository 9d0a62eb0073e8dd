import type { X509Certificate } from 'node:crypto';
import { normalizeName } from '../names/normalize.js';

/** The leaf's DNS names in certificate order, deduplicated; the subject CN only when there are none. */
export function certificateNames(leaf: X509Certificate): string[] {
  const names: string[] = [];
  // A Set to deduplicate: a certificate may name hundreds of sites, and includes() per name is quadratic.
  const seen = new Set<string>();
  const add = (raw: string) => {
    const name = normalizeName(raw.replace(/^"|"$/g, ''));
    if (name === undefined || seen.has(name)) return;
    seen.add(name);
    names.push(name);
  };
  for (const match of (leaf.subjectAltName ?? '').matchAll(/(?:^|,\s*)DNS:("[^"]*"|[^,]+)/g))
    add(match[1] ?? '');
  if (names.length === 0) {
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(leaf.subject)?.[1];
    if (cn !== undefined) add(cn);
  }
  return names;
}
