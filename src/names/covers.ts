/**
 * Whether a certificate's name covers a host name as TLS clients match them (RFC 6125): equal, or a wildcard that
 * stands for exactly one whole left-most label (`*.a.example` covers `x.a.example`, not `a.example` nor
 * `x.y.a.example`). A wildcard in the map is covered only by the same wildcard.
 */
export function covers(certName: string, name: string): boolean {
  if (certName === name) return true;
  if (!certName.startsWith('*.') || name.startsWith('*.')) return false;
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(dot + 1) === certName.slice(2);
}
