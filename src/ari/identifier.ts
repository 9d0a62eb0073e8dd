/**
 * ARI's certificate identifier (RFC 9773, section 4.1): base64url of the keyIdentifier of the certificate's
 * Authority Key Identifier extension, a dot, base64url of the DER bytes of its serial number — the INTEGER's content
 * octets, so with the leading 00 a serial whose high bit is set carries. See docs/operations.md ("The CA's schedule").
 */
import { X509Certificate } from 'node:crypto';

/** The certificate's identifier, or why there is none (no AKI extension, no keyIdentifier in it). */
export type IdentifierRead = { id: string } | { problem: string };

/**
 * The identifier of the PEM certificate `pem`. The ASN.1 parser is loaded here, only when ARI is asked, so that a
 * deploy hook never loads it.
 */
export async function certificateIdentifier(pem: string): Promise<IdentifierRead> {
  const cert = new X509Certificate(pem);
  const [{ AsnConvert }, { Certificate, AuthorityKeyIdentifier, id_ce_authorityKeyIdentifier }] =
    await Promise.all([import('@peculiar/asn1-schema'), import('@peculiar/asn1-x509')]);
  const parsed = AsnConvert.parse(cert.raw, Certificate);
  const extension = parsed.tbsCertificate.extensions?.find(
    (each) => each.extnID === id_ce_authorityKeyIdentifier,
  );
  if (extension === undefined)
    return { problem: 'the certificate has no Authority Key Identifier extension' };
  const aki = AsnConvert.parse(extension.extnValue.buffer, AuthorityKeyIdentifier);
  if (aki.keyIdentifier === undefined)
    return { problem: 'the Authority Key Identifier extension names no keyIdentifier' };
  return { id: identifierOf(new Uint8Array(aki.keyIdentifier.buffer), cert.serialNumber) };
}

/** The identifier from the AKI keyIdentifier bytes and the serial as node:crypto shows it (hex, sign byte dropped). */
export function identifierOf(keyIdentifier: Uint8Array, serialHex: string): string {
  return `${Buffer.from(keyIdentifier).toString('base64url')}.${serialBytes(serialHex).toString('base64url')}`;
}

/**
 * The DER content octets of a positive serial: node:crypto prints the serial without the 00 that DER puts before
 * a first byte with its high bit set; it is restored here.
 */
export function serialBytes(serialHex: string): Buffer {
  const even = serialHex.length % 2 === 0 ? serialHex : `0${serialHex}`;
  let bytes = Buffer.from(even, 'hex');
  while (bytes.length > 1 && bytes[0] === 0 && ((bytes[1] ?? 0) & 0x80) === 0) bytes = bytes.subarray(1);
  if (((bytes[0] ?? 0) & 0x80) !== 0) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return bytes;
}
