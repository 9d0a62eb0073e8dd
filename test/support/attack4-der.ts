/**
 * A small DER writer for attack tests: certificates built byte by byte (any version, any extensions, duplicates,
 * odd encodings), signed with node:crypto so that OpenSSL's issuer checks see real signatures.
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
export const utf8 = (text: string) => tlv(0x0c, Buffer.from(text, 'utf8'));
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
  o: '2.5.4.10',
  san: '2.5.29.17',
  bc: '2.5.29.19',
  ku: '2.5.29.15',
  eku: '2.5.29.37',
  skid: '2.5.29.14',
  akid: '2.5.29.35',
  ecdsaSha256: '1.2.840.10045.4.3.2',
} as const;

export function name(cn: string, type = 0x0c): Buffer {
  return seq(set(seq(oid(OIDS.cn), tlv(type, Buffer.from(cn, 'latin1')))));
}

export function extension(id: string, value: Buffer, critical?: boolean): Buffer {
  return seq(oid(id), ...(critical === undefined ? [] : [bool(critical)]), octets(value));
}

/** dNSName [2], iPAddress [7], URI [6], rfc822Name [1] entries. */
export const dns = (text: string) => tlv(0x82, Buffer.from(text, 'latin1'));
export const uri = (text: string) => tlv(0x86, Buffer.from(text, 'latin1'));
export const email = (text: string) => tlv(0x81, Buffer.from(text, 'latin1'));
export const ip = (bytes: number[]) => tlv(0x87, Buffer.from(bytes));
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

export function party(cn: string, kind: 'ec' | 'rsa' | 'ed25519' | 'ed448' | 'dsa' = 'ec'): Party {
  const pair =
    kind === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : kind === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 1024 })
        : kind === 'dsa'
          ? generateKeyPairSync('dsa', { modulusLength: 1024, divisorLength: 160 })
          : kind === 'ed25519'
            ? generateKeyPairSync('ed25519')
            : generateKeyPairSync('ed448');
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
  /** undefined: v3 ([0] INTEGER 2); null: no version field (v1). */
  version?: number | null | undefined;
  serial?: number;
  notBefore?: Date;
  notAfter?: Date;
  issuerUid?: Buffer;
  subjectUid?: Buffer;
  /** Replaces the [3] wrapper entirely (raw bytes). */
  rawExtensions?: Buffer;
  /** Edits the TBS before it is signed. */
  editTbs?: (tbs: Buffer) => Buffer;
}

export function certificate(options: CertOptions): Buffer {
  const algorithm = seq(oid(OIDS.ecdsaSha256));
  const version = options.version === null ? [] : [tlv(0xa0, int(options.version ?? 2))];
  const exts =
    options.rawExtensions !== undefined
      ? [options.rawExtensions]
      : options.extensions === undefined
        ? []
        : [tlv(0xa3, seq(...options.extensions))];
  let tbs = seq(
    ...version,
    int(options.serial ?? 4242),
    algorithm,
    options.issuer,
    seq(
      utc(options.notBefore ?? new Date(Date.now() - 3_600_000)),
      utc(options.notAfter ?? new Date(Date.now() + 30 * 86_400_000)),
    ),
    options.subject,
    options.spki,
    ...(options.issuerUid === undefined ? [] : [tlv(0x81, options.issuerUid)]),
    ...(options.subjectUid === undefined ? [] : [tlv(0x82, options.subjectUid)]),
    ...exts,
  );
  if (options.editTbs) tbs = options.editTbs(tbs);
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
