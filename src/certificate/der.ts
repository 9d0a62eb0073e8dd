import { normalizeName } from '../names/normalize.js';

/**
 * The leaf's DNS names, read straight from the certificates' DER, without node:crypto: most hook runs are for a
 * certificate mapped to no site (Certbot runs every drop-in for every lineage), and for those the names are all
 * that is needed — loading node:crypto and parsing with OpenSSL is ~3 ms of a ~25 ms run.
 *
 * An answer here ends the run (exit 0, "no site"), so it must be exactly what readChain would give: the same names,
 * and a file readChain would refuse never answered. It answers only for files inside a narrow profile in which
 * OpenSSL's reading is known, and gives undefined for anything else (readChain then does what it always did):
 * - PEM laid out as OpenSSL reads it: base64 lines only, no blank line, no other whitespace;
 * - every certificate v3, strict DER, names of printable ASCII strings, no unique identifiers, each extension once
 *   and only of the kinds a public chain carries; those OpenSSL decodes while it loads a certificate (basic
 *   constraints, key usage, key identifiers, subjectAltName, CRL distribution points, extended key usage) are
 *   checked as strictly as it does, since one it cannot decode changes what it takes for a CA, or its names;
 * - a certificate claiming cA may sign certificates (keyUsage absent or with keyCertSign): otherwise OpenSSL does
 *   not take it for a CA, and picks another leaf;
 * - exactly one non-CA certificate, whose subject is no other certificate's issuer (OpenSSL would take it for that
 *   one's issuer and look for another leaf), with an RSA key or an EC key on P-256/P-384/P-521 that OpenSSL can
 *   decode (the point on its curve), and DNS names of host-name characters in its one subjectAltName.
 * test/unit/attack4-der.test.ts compares both ways over generated chains.
 */
export function leafNamesFromPem(text: string): string[] | undefined {
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) return undefined;
  const certs: Summary[] = [];
  for (const block of text.matchAll(PEM_CERT)) {
    const der = pemBody(block[1] ?? '');
    const summary = der === undefined ? undefined : summarize(der);
    if (summary === undefined) return undefined;
    certs.push(summary);
  }
  const leaves = certs.filter((cert) => !cert.ca);
  const leaf = leaves.length === 1 ? leaves[0] : undefined;
  if (leaf === undefined || leaf.dnsNames.length === 0 || !keyOk(leaf.der, leaf.spki)) return undefined;
  if (certs.some((cert) => cert !== leaf && cert.issuer === leaf.subject)) return undefined;
  const names = new Set<string>();
  for (const raw of leaf.dnsNames) {
    if (!/^[A-Za-z0-9*._-]+$/.test(raw)) return undefined;
    const name = normalizeName(raw);
    if (name !== undefined) names.add(name);
  }
  return names.size > 0 ? [...names] : undefined;
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g;

/**
 * The DER of a PEM block's body, when laid out as OpenSSL surely reads it: a line end after BEGIN, then lines of
 * base64 each ending in a line end. OpenSSL refuses a blank line, a lone CR, a no-break space, a vertical tab…
 */
function pemBody(body: string): Buffer | undefined {
  if (!/^\r?\n(?:[A-Za-z0-9+/=]+\r?\n)+$/.test(body)) return undefined;
  const base64 = body.replace(/\r?\n/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) return undefined;
  return Buffer.from(base64, 'base64');
}

interface Summary {
  der: Buffer;
  ca: boolean;
  /** The issuer and subject names in a comparable form (as OpenSSL compares them: case and spaces folded). */
  issuer: string;
  subject: string;
  spki: Element;
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
const SET = 0x31;
const OID = 0x06;
const BOOLEAN = 0x01;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const NULL = 0x05;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
/** [0] EXPLICIT version, [3] EXPLICIT extensions. */
const VERSION = 0xa0;
const EXTENSIONS = 0xa3;
/** GeneralName: [1] rfc822Name, [2] dNSName, [6] URI, [7] iPAddress (all primitive). */
const DNS_NAME = 0x82;
const GENERAL_NAME_TAGS = new Set([0x81, DNS_NAME, 0x86, 0x87]);
/** UTF8String, PrintableString, T61String, IA5String: the name strings read here (printable ASCII only). */
const NAME_STRING_TAGS = new Set([0x0c, 0x13, 0x14, 0x16]);

const OID_BASIC_CONSTRAINTS = '551d13';
const OID_KEY_USAGE = '551d0f';
const OID_EXT_KEY_USAGE = '551d25';
const OID_SUBJECT_KEY_ID = '551d0e';
const OID_AUTHORITY_KEY_ID = '551d23';
const OID_SUBJECT_ALT_NAME = '551d11';
const OID_CRL_DISTRIBUTION_POINTS = '551d1f';
/**
 * Extensions OpenSSL does not decode when it loads a certificate, so that their content cannot change its reading:
 * certificate policies, authority information access, CT's signed certificate timestamps, TLS feature (must-staple).
 */
const OPAQUE_EXTENSIONS = new Set(['551d20', '2b06010505070101', '2b06010401d679020402', '2b06010505070118']);
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

/** The one element that fills `at`'s content exactly (an extension's value, a BIT STRING's key). */
function only(der: Buffer, start: number, end: number): Element | undefined {
  const inner = element(der, start, end);
  return inner !== undefined && inner.end === end ? inner : undefined;
}

/** The elements of a SEQUENCE (or SET) `at`, at least one. */
function items(der: Buffer, at: Element | undefined, tag = SEQUENCE): Element[] | undefined {
  if (at?.tag !== tag) return undefined;
  const list = children(der, at);
  return list !== undefined && list.length > 0 ? list : undefined;
}

function length(at: Element): number {
  return at.end - at.start;
}

/** An OBJECT IDENTIFIER's content as OpenSSL takes it: no subidentifier starting 0x80, the last one ended. */
function oidOk(der: Buffer, at: Element | undefined): at is Element {
  if (at?.tag !== OID || length(at) === 0 || ((der[at.end - 1] as number) & 0x80) !== 0) return false;
  for (let index = at.start; index < at.end; index += 1) {
    const starts = index === at.start || ((der[index - 1] as number) & 0x80) === 0;
    if (starts && der[index] === 0x80) return false;
  }
  return true;
}

/** A minimally encoded INTEGER (OpenSSL refuses padding); `natural`: not negative. */
function integerOk(der: Buffer, at: Element | undefined, natural: boolean): boolean {
  if (at?.tag !== INTEGER || length(at) === 0) return false;
  const first = der[at.start] as number;
  if (natural && first & 0x80) return false;
  if (length(at) === 1) return true;
  const second = der[at.start + 1] as number;
  return !((first === 0 && second < 0x80) || (first === 0xff && second >= 0x80));
}

/** AlgorithmIdentifier: an OID, and no parameters or NULL. */
function algorithmOk(der: Buffer, at: Element | undefined): boolean {
  const parts = items(der, at);
  if (parts === undefined || !oidOk(der, parts[0])) return false;
  return parts.length === 1 || (parts.length === 2 && parts[1]?.tag === NULL && length(parts[1]) === 0);
}

/**
 * A Name in the form OpenSSL compares names (X509_NAME_cmp on the canonical encoding: ASCII case folded, spaces
 * trimmed and collapsed, the attributes of one RDN in any order); undefined unless every attribute is a well-formed
 * OID with a printable-ASCII string, which is all this reads.
 */
function nameKey(der: Buffer, at: Element | undefined): string | undefined {
  if (at?.tag !== SEQUENCE) return undefined;
  const rdns = children(der, at);
  if (rdns === undefined) return undefined;
  const key: string[] = [];
  for (const rdn of rdns) {
    const attributes = items(der, rdn, SET);
    if (attributes === undefined) return undefined;
    const entries: string[] = [];
    for (const attribute of attributes) {
      const parts = items(der, attribute);
      const value = parts?.[1];
      if (parts?.length !== 2 || !oidOk(der, parts[0]) || value === undefined) return undefined;
      if (!NAME_STRING_TAGS.has(value.tag)) return undefined;
      const text = der.toString('latin1', value.start, value.end);
      if (!/^[\x20-\x7e]*$/.test(text)) return undefined;
      entries.push(`${hex(der, parts[0])}=${JSON.stringify(text.trim().replace(/ +/g, ' ').toLowerCase())}`);
    }
    key.push(entries.sort().join('+'));
  }
  return key.join(',');
}

function timeOk(der: Buffer, at: Element | undefined): boolean {
  if (at?.tag === UTC_TIME) return /^\d{12}Z$/.test(der.toString('latin1', at.start, at.end));
  if (at?.tag === GENERALIZED_TIME) return /^\d{14}Z$/.test(der.toString('latin1', at.start, at.end));
  return false;
}

/** GeneralNames of the kinds read here; the dNSName entries are added to `dns`. */
function generalNamesOk(der: Buffer, at: Element | undefined, dns: string[], tag = SEQUENCE): boolean {
  const names = items(der, at, tag);
  if (names === undefined) return false;
  for (const name of names) {
    if (!GENERAL_NAME_TAGS.has(name.tag)) return false;
    if (name.tag === DNS_NAME) dns.push(der.toString('latin1', name.start, name.end));
  }
  return true;
}

function summarize(der: Buffer): Summary | undefined {
  const certificate = element(der, 0, der.length);
  if (certificate?.tag !== SEQUENCE || certificate.end !== der.length) return undefined;
  const [tbs, algorithm, signature, ...extra] = children(der, certificate) ?? [];
  if (tbs?.tag !== SEQUENCE || !algorithmOk(der, algorithm) || extra.length > 0) return undefined;
  if (signature?.tag !== BIT_STRING || length(signature) === 0 || der[signature.start] !== 0)
    return undefined;
  const fields = children(der, tbs);
  if (fields === undefined || fields.length < 7 || fields.length > 8) return undefined;
  const [version, serial, signed, issuerName, validity, subjectName, spki, extensions] = fields;
  // v3 only: [0] { INTEGER 2 }.
  if (version?.tag !== VERSION || hex(der, version) !== '020102') return undefined;
  if (!integerOk(der, serial, false) || !algorithmOk(der, signed)) return undefined;
  const issuer = nameKey(der, issuerName);
  const subject = nameKey(der, subjectName);
  if (issuer === undefined || subject === undefined) return undefined;
  const times = children(der, validity as Element);
  if (validity?.tag !== SEQUENCE || times?.length !== 2 || !timeOk(der, times[0]) || !timeOk(der, times[1]))
    return undefined;
  const keyParts = items(der, spki);
  if (keyParts?.length !== 2 || !items(der, keyParts[0]) || keyParts[1]?.tag !== BIT_STRING) return undefined;
  const summary: Summary = {
    der,
    ca: false,
    issuer,
    subject,
    spki: spki as Element,
    dnsNames: [],
  };
  if (extensions === undefined) return summary;
  // No issuerUniqueID/subjectUniqueID: the extensions, or nothing, follow the key.
  if (extensions.tag !== EXTENSIONS) return undefined;
  const list = items(der, only(der, extensions.start, extensions.end));
  if (list === undefined) return undefined;
  const seen = new Set<string>();
  let keyUsage: number | undefined;
  for (const extension of list) {
    const parts = items(der, extension);
    const id = parts?.[0];
    const value = parts?.at(-1);
    if (parts === undefined || !oidOk(der, id) || value?.tag !== OCTET_STRING || parts.length > 3)
      return undefined;
    // critical: DER omits FALSE, so a BOOLEAN here is TRUE (0xff).
    if (parts.length === 3 && (parts[1]?.tag !== BOOLEAN || hex(der, parts[1]) !== 'ff')) return undefined;
    const oid = hex(der, id);
    if (seen.has(oid)) return undefined; // OpenSSL decodes none of a duplicated extension
    seen.add(oid);
    const inner = only(der, value.start, value.end);
    if (inner === undefined) return undefined;
    switch (oid) {
      case OID_BASIC_CONSTRAINTS: {
        // SEQUENCE { cA BOOLEAN TRUE (DER: FALSE is omitted), pathLen INTEGER >= 0, only with cA }
        const bc = inner.tag === SEQUENCE ? children(der, inner) : undefined;
        if (bc === undefined || bc.length > 2) return undefined;
        const [first, second] = bc;
        if (first?.tag === BOOLEAN) {
          if (hex(der, first) !== 'ff' || (second !== undefined && !integerOk(der, second, true)))
            return undefined;
          summary.ca = true;
        } else if (first !== undefined) return undefined;
        break;
      }
      case OID_KEY_USAGE: {
        if (inner.tag !== BIT_STRING || length(inner) < 2 || length(inner) > 3) return undefined;
        if ((der[inner.start] as number) > 7) return undefined;
        keyUsage = der[inner.start + 1];
        break;
      }
      case OID_EXT_KEY_USAGE: {
        const usages = items(der, inner);
        if (usages === undefined || !usages.every((usage) => oidOk(der, usage))) return undefined;
        break;
      }
      case OID_SUBJECT_KEY_ID:
        if (inner.tag !== OCTET_STRING) return undefined;
        break;
      case OID_AUTHORITY_KEY_ID: {
        // SEQUENCE { [0] keyIdentifier, [2] serial } (an issuer name, [1], is not read here)
        const akid = inner.tag === SEQUENCE ? children(der, inner) : undefined;
        if (akid === undefined || akid.length > 2) return undefined;
        if (akid[0] !== undefined && akid[0].tag !== 0x80 && akid[0].tag !== 0x82) return undefined;
        if (akid[1] !== undefined && (akid[0]?.tag !== 0x80 || akid[1].tag !== 0x82)) return undefined;
        if (akid.some((part) => part.tag === 0x82 && !integerOk(der, { ...part, tag: INTEGER }, false)))
          return undefined;
        break;
      }
      case OID_SUBJECT_ALT_NAME:
        if (!generalNamesOk(der, inner, summary.dnsNames)) return undefined;
        break;
      case OID_CRL_DISTRIBUTION_POINTS: {
        // SEQUENCE OF { [0] { [0] GeneralNames } }: a full name only, no reasons, no CRL issuer.
        const points = items(der, inner);
        if (points === undefined) return undefined;
        for (const point of points) {
          const parts = items(der, point);
          const name =
            parts?.length === 1 && parts[0]?.tag === 0xa0
              ? only(der, parts[0].start, parts[0].end)
              : undefined;
          if (!generalNamesOk(der, name, [], 0xa0)) return undefined;
        }
        break;
      }
      default:
        if (!OPAQUE_EXTENSIONS.has(oid)) return undefined;
    }
  }
  // A cA that may not sign certificates is no CA to OpenSSL (X509_check_ca): it would pick another leaf.
  if (summary.ca && keyUsage !== undefined && (keyUsage & 0x04) === 0) return undefined;
  return summary;
}

/** NIST curves by OID: field prime, b (a is p - 3), coordinate length. */
const CURVES: Record<string, { p: string; b: string; size: number }> = {
  '2a8648ce3d030107': {
    p: 'ffffffff00000001000000000000000000000000ffffffffffffffffffffffff',
    b: '5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b',
    size: 32,
  },
  '2b81040022': {
    p: 'fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff',
    b: 'b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef',
    size: 48,
  },
  '2b81040023': {
    p: '1' + 'f'.repeat(130),
    b: '51953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00',
    size: 66,
  },
};

/**
 * Whether OpenSSL decodes the leaf's key as one readChain accepts: RSA (SEQUENCE { n, e }, both positive) or an
 * uncompressed EC point on P-256, P-384 or P-521. Anything else readChain refuses (or must be left to it).
 */
function keyOk(der: Buffer, spki: Element): boolean {
  const [algorithm, key] = children(der, spki) ?? [];
  const parts = algorithm === undefined ? undefined : items(der, algorithm);
  if (parts?.length !== 2 || key === undefined || !oidOk(der, parts[0])) return false;
  if (length(key) < 2 || der[key.start] !== 0) return false;
  const id = hex(der, parts[0]);
  if (id === OID_RSA) {
    if (parts[1]?.tag !== NULL || length(parts[1]) !== 0) return false;
    const numbers = items(der, only(der, key.start + 1, key.end));
    return (
      numbers?.length === 2 &&
      numbers.every(
        (number) => integerOk(der, number, true) && !(length(number) === 1 && der[number.start] === 0),
      )
    );
  }
  if (id !== OID_EC || !oidOk(der, parts[1])) return false;
  const curve = CURVES[hex(der, parts[1])];
  if (curve === undefined || length(key) !== 2 + 2 * curve.size || der[key.start + 1] !== 0x04) return false;
  const p = BigInt(`0x${curve.p}`);
  const x = BigInt(`0x${der.toString('hex', key.start + 2, key.start + 2 + curve.size)}`);
  const y = BigInt(`0x${der.toString('hex', key.start + 2 + curve.size, key.end)}`);
  if (x >= p || y >= p) return false;
  const b = BigInt(`0x${curve.b}`);
  return (y * y - (x * x * x - 3n * x + b)) % p === 0n;
}

function hex(der: Buffer, at: Element): string {
  return der.toString('hex', at.start, at.end);
}
