import { domainToASCII } from 'node:url';

/**
 * A host name in lowercase ASCII: labels of letters, digits and hyphens, no hyphen at either end, 1–63 characters.
 */
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The form in which names are compared: lowercase ASCII (IDNs as punycode, as they stand in a certificate), no
 * trailing dot. A wildcard keeps its literal `*.` (a wildcard key matches only the same wildcard on the
 * certificate). Returns undefined for something that is not a DNS host name.
 *
 * The ASCII part is checked before IDNA sees it: the WHATWG host parser behind domainToASCII cuts a name at `\`, `?`
 * or `#` (`example.com\evil` would become `example.com`) and lets `_`, `!`, `$`, `&`, `(`… through. What IDNA
 * returns is checked again.
 */
export function normalizeName(name: string): string | undefined {
  let rest = name.endsWith('.') ? name.slice(0, -1) : name;
  let prefix = '';
  if (rest.startsWith('*.')) {
    prefix = '*.';
    rest = rest.slice(2);
  }
  // Plain lowercase ASCII names (nearly all, and every certificate's) need nothing from IDNA.
  let ascii = rest;
  if (!HOST.test(rest) || rest.includes('xn--')) {
    // Capitals, IDNs, punycode: IDNA lowercases, maps or refuses. In ASCII, only letters, digits, hyphens and dots
    // may go to it.
    if (/[^A-Za-z0-9.\-\u0080-\uffff]/.test(rest)) return undefined;
    ascii = domainToASCII(rest);
    if (!HOST.test(ascii)) return undefined;
  }
  return ascii.length > 253 ? undefined : prefix + ascii;
}

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`);

/** Dotted-quad IPv4, as `node:net`'s isIP takes it. */
export function isIPv4(text: string): boolean {
  return IPV4.test(text);
}

/** An IPv6 address without brackets, as the URL parser takes it (the global URL needs no module load). */
export function isIPv6(text: string): boolean {
  if (!text.includes(':') || !/^[0-9A-Fa-f:.]+$/.test(text)) return false;
  try {
    new URL(`http://[${text}]/`);
    return true;
  } catch {
    return false;
  }
}
