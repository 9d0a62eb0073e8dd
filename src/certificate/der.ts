import { normalizeName } from '../names/normalize.js';

/**
 * The leaf's DNS names, read straight from the certificates' DER, without node:crypto: most hook runs are for a
 * certificate mapped to no site (Certbot runs every drop-in for every lineage), and for those the names are all
 * that is needed — loading node:crypto and parsing with OpenSSL is ~3 ms of a ~25 ms run.
 *
 * Only an answer it is sure of: undefined whenever the file is anything but plain certificates, strictly encoded,
 * of which exactly one is not a CA, with an RSA or EC key and DNS names in its subjectAltName made only of the
 * characters a host name or a wildcard has. The caller then reads the file the full way (readChain), which says
 * what is wrong or finds the names some other way (the subject CN, an issuer file). The names are those
 * `certificateNames` gives for the same leaf (test/unit/der.test.ts holds them side by side).
 */
export function leafNamesFromPem(text: string): string[] | undefined {
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) return undefined;
  const blocks = [...text.matchAll(PEM_CERT)];
  if (blocks.length === 0) return undefined;
  const leaves: Summary[] = [];
  for (const block of blocks) {
    const body = (block[1] ?? '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) return undefined;
    const summary = summarize(Buffer.from(body, 'base64'));
    if (summary === undefined) return undefined;
    if (!summary.ca) leaves.push(summary);
  }
  const leaf = leaves.length === 1 ? leaves[0] : undefined;
  if (leaf === undefined || !leaf.knownKey || leaf.dnsNames.length === 0) return undefined;
  const names = new Set<string>();
  for (const raw of leaf.dnsNames) {
    if (!/^[A-Za-z0-9*._-]+$/.test(raw)) return undefined;
    const name = normalizeName(raw);
    if (name !== undefined) names.add(name);
  }
  return names.size > 0 ? [...names] : undefined;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g;

interface Summary {
  ca: boolean;
  /** RSA or EC (what Imperva takes, and what readChain accepts). */
  knownKey: boolean;
  /** The subjectAltName's dNSName entries, in order, as written. */
  dnsNames: string[];
}

/** One DER element: its tag, where its content starts and ends. */
interface Element {
  tag: number;
  start: number;
  end: number;
}

const SEQUENCE = 0x30;
const OID = 0x06;
const BOOLEAN = 0x01;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
/** [0] EXPLICIT version, [3] EXPLICIT extensions, [2] IMPLICIT dNSName. */
const VERSION = 0xa0;
const EXTENSIONS = 0xa3;
const DNS_NAME = 0x82;

const OID_SUBJECT_ALT_NAME = '551d11';
const OID_BASIC_CONSTRAINTS = '551d13';
const OID_RSA = '2a864886f70d010101';
const OID_EC = '2a8648ce3d0201';

/** The element at `offset`, which must end within `limit`; undefined for anything not plain, definite DER. */
function element(der: Buffer, offset: number, limit: number): Element | undefined {
  if (offset + 2 > limit) return undefined;
  const tag = der[offset] as number;
  if ((tag & 0x1f) === 0x1f) return undefined; // multi-byte tags: none in the parts read here
  let length = der[offset + 1] as number;
  let start = offset + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 3 || start + bytes > limit) return undefined; // indefinite, or over 16 MiB
    length = 0;
    for (let index = 0; index < bytes; index += 1) length = length * 256 + (der[start + index] as number);
    start += bytes;
    if (length < (bytes === 1 ? 0x80 : 256 ** (bytes - 1))) return undefined; // not minimal: not DER
  }
  const end = start + length;
  return end <= limit ? { tag, start, end } : undefined;
}

/** The elements inside `parent`, which must fill it exactly. */
function children(der: Buffer, parent: Element): Element[] | undefined {
  const out: Element[] = [];
  for (let offset = parent.start; offset < parent.end;) {
    const child = element(der, offset, parent.end);
    if (child === undefined) return undefined;
    out.push(child);
    offset = child.end;
  }
  return out;
}

function summarize(der: Buffer): Summary | undefined {
  const certificate = element(der, 0, der.length);
  if (certificate?.tag !== SEQUENCE || certificate.end !== der.length) return undefined;
  const [tbs, algorithm, signature, ...extra] = children(der, certificate) ?? [];
  if (
    tbs?.tag !== SEQUENCE ||
    algorithm?.tag !== SEQUENCE ||
    signature?.tag !== BIT_STRING ||
    extra.length > 0
  )
    return undefined;
  const fields = children(der, tbs);
  if (fields === undefined) return undefined;
  let index = fields[0]?.tag === VERSION ? 1 : 0;
  const [serial, signed, issuer, validity, subject, spki] = fields.slice(index, index + 6);
  if (
    serial?.tag !== INTEGER ||
    signed?.tag !== SEQUENCE ||
    issuer?.tag !== SEQUENCE ||
    validity?.tag !== SEQUENCE ||
    subject?.tag !== SEQUENCE ||
    spki?.tag !== SEQUENCE
  )
    return undefined;
  const times = children(der, validity);
  if (times?.length !== 2 || !times.every((time) => time.tag === UTC_TIME || time.tag === GENERALIZED_TIME))
    return undefined;
  const keyAlgorithm = children(der, spki)?.[0];
  const keyOid = keyAlgorithm?.tag === SEQUENCE ? children(der, keyAlgorithm)?.[0] : undefined;
  if (keyOid?.tag !== OID) return undefined;
  const keyId = hex(der, keyOid);
  index += 6;
  // issuerUniqueID [1] and subjectUniqueID [2] may come before the extensions.
  while (fields[index] !== undefined && (fields[index]?.tag === 0x81 || fields[index]?.tag === 0x82))
    index += 1;
  const summary: Summary = { ca: false, knownKey: keyId === OID_RSA || keyId === OID_EC, dnsNames: [] };
  const wrapper = fields[index];
  if (wrapper === undefined) return summary;
  if (wrapper.tag !== EXTENSIONS || index !== fields.length - 1) return undefined;
  const list = children(der, wrapper);
  if (list?.length !== 1 || list[0]?.tag !== SEQUENCE) return undefined;
  const extensions = children(der, list[0]);
  if (extensions === undefined) return undefined;
  for (const extension of extensions) {
    if (extension.tag !== SEQUENCE) return undefined;
    const parts = children(der, extension);
    const id = parts?.[0];
    const value = parts?.at(-1);
    if (id?.tag !== OID || value?.tag !== OCTET_STRING || parts === undefined || parts.length > 3)
      return undefined;
    if (parts.length === 3 && parts[1]?.tag !== BOOLEAN) return undefined;
    const inner = element(der, value.start, value.end);
    if (inner === undefined || inner.end !== value.end) return undefined;
    const oid = hex(der, id);
    if (oid === OID_BASIC_CONSTRAINTS) {
      if (inner.tag !== SEQUENCE) return undefined;
      const first = children(der, inner)?.[0];
      summary.ca = first?.tag === BOOLEAN && first.end === first.start + 1 && der[first.start] !== 0;
    } else if (oid === OID_SUBJECT_ALT_NAME) {
      if (inner.tag !== SEQUENCE) return undefined;
      const names = children(der, inner);
      if (names === undefined) return undefined;
      for (const name of names) {
        if (name.tag === DNS_NAME) summary.dnsNames.push(der.toString('latin1', name.start, name.end));
      }
    }
  }
  return summary;
}

function hex(der: Buffer, at: Element): string {
  return der.toString('hex', at.start, at.end);
}
