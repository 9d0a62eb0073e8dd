import { domainToASCII } from 'node:url';

/** Domain name (lowercase, ASCII) → the site ids it maps to, in the order the config lists them. */
export type SiteMap = ReadonlyMap<string, readonly string[]>;

/**
 * The form in which names are compared: lowercase ASCII (IDNs as punycode, as they stand in a certificate), no
 * trailing dot. A wildcard keeps its literal `*.` (a wildcard key matches only the same wildcard on the
 * certificate). Returns undefined for something that is not a domain name.
 */
export function normalizeName(name: string): string | undefined {
  let rest = name.trim().replace(/\.$/, '');
  let prefix = '';
  if (rest.startsWith('*.')) {
    prefix = '*.';
    rest = rest.slice(2);
  }
  if (rest === '' || /[\s/*]/.test(rest)) return undefined;
  const ascii = domainToASCII(rest);
  return ascii === '' ? undefined : prefix + ascii;
}

/** Site ids arrive as numbers or digit strings; we carry them as canonical decimal strings. */
export function normalizeSiteId(id: number | string): string {
  return typeof id === 'number' ? String(id) : id.replace(/^0+(?=\d)/, '');
}
