/**
 * A small DER writer: certificates built byte by byte (any extensions, duplicates, unusual encodings, keys OpenSSL
 * cannot decode) that no certificate library would write, signed with node:crypto so that OpenSSL's issuer checks
 * see real signatures.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = Buffer.concat(content);
  const n = body.length;
  let head: Buffer;
  if (n < 0x80) head = Buffer.from([tag, n]);
  else if (n < 0x100) head = Buffer.from([tag, 0x81, n]);
  else if (n < 0x10000) head = Buffer.from([tag, 0x82, n >> 8, n & 0xff]);
  else head = Buffer.from([tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([head, body]);
}

export const seq = (...c: Buffer[]) => tlv(0x30, ...c);
export const set = (...c: Buffer[]) => tlv(0x31, ...c);
export const int = (value: number) => {
  const bytes: number[] = [];
  let v = value;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if ((bytes[0] as number) & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
};
export const bool = (value: boolean) => tlv(0x01, Buffer.from([value ? 0xff : 0]));
export const octets = (...c: Buffer[]) => tlv(0x04, ...c);
export const bits = (content: Buffer, unused = 0) => tlv(0x03, Buffer.from([unused]), content);
export const utc = (date: Date) =>
  tlv(0x17, Buffer.from(date.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z', 'latin1'));

export function oid(text: string): Buffer {
  const parts = text.split('.').map(Number);
  const out: number[] = [(parts[0] as number) * 40 + (parts[1] as number)];
  for (const part of parts.slice(2)) {
    const chunk: number[] = [];
    let v = part;
    do {
      chunk.unshift((v & 0x7f) | (chunk.length > 0 ? 0x80 : 0));
      v = Math.floor(v / 128);
    } while (v > 0);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

export const OIDS = {
  cn: '2.5.4.3',
  san: '2.5.29.17',
  bc: '2.5.29.19',
  ku: '2.5.29.15',
  ecdsaSha256: '1.2.840.10045.4.3.2',
} as const;

export function name(cn: string, type = 0x0c): Buffer {
  return seq(set(seq(oid(OIDS.cn), tlv(type, Buffer.from(cn, 'latin1')))));
}

export function extension(id: string, value: Buffer, critical?: boolean): Buffer {
  return seq(oid(id), ...(critical === undefined ? [] : [bool(critical)]), octets(value));
}

/** A dNSName [2] entry of a subjectAltName. */
export const dns = (text: string) => tlv(0x82, Buffer.from(text, 'latin1'));
export const san = (...names: Buffer[]) => extension(OIDS.san, seq(...names));
export const basic = (ca: boolean, pathLen?: number, critical = true) =>
  extension(
    OIDS.bc,
    seq(...(ca ? [bool(true)] : []), ...(pathLen === undefined ? [] : [int(pathLen)])),
    critical,
  );
/** keyUsage bits: 0 digitalSignature … 5 keyCertSign, 6 cRLSign. */
export function keyUsage(bitsSet: number[], critical = true): Buffer {
  let byte = 0;
  for (const bit of bitsSet) byte |= 0x80 >> bit;
  let unused = 0;
  while (unused < 7 && !(byte & (1 << unused))) unused += 1;
  return extension(OIDS.ku, bits(Buffer.from([byte]), byte === 0 ? 0 : unused), critical);
}

export interface Party {
  key: KeyObject;
  spki: Buffer;
  subject: Buffer;
}

export function party(cn: string): Party {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    key: pair.privateKey,
    spki: pair.publicKey.export({ type: 'spki', format: 'der' }),
    subject: name(cn),
  };
}

export interface CertOptions {
  subject: Buffer;
  spki: Buffer;
  issuer: Buffer;
  signer: KeyObject;
  extensions?: Buffer[] | undefined;
}

/** A v3 certificate valid from an hour ago for 30 days, signed with ECDSA and SHA-256. */
export function certificate(options: CertOptions): Buffer {
  const algorithm = seq(oid(OIDS.ecdsaSha256));
  const tbs = seq(
    tlv(0xa0, int(2)),
    int(4242),
    algorithm,
    options.issuer,
    seq(utc(new Date(Date.now() - 3_600_000)), utc(new Date(Date.now() + 30 * 86_400_000))),
    options.subject,
    options.spki,
    ...(options.extensions === undefined ? [] : [tlv(0xa3, seq(...options.extensions))]),
  );
  const signature = sign('sha256', tbs, options.signer);
  return seq(tbs, algorithm, bits(signature));
}

export function pem(der: Buffer, label = 'CERTIFICATE'): string {
  const body = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

export function keyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}
