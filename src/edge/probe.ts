/**
 * One TLS handshake with an Imperva edge, to see which leaf certificate it serves for a name and a key type.
 *
 * Imperva keeps one custom certificate per site and key type and picks the one to serve from the signature
 * algorithms the client offers (an RSA-only client keeps getting the RSA one). So the probe offers only the
 * algorithms of one key type: ECDSA, or RSA (PKCS#1 and PSS). It does not validate the chain: the exact leaf is the
 * point, and an edge that still serves an expired or foreign certificate is exactly what we want to see. It does say
 * whether the edge sent the certificate that issued the leaf (a leaf served without its chain fails in browsers
 * that lack the intermediate). It sends no HTTP request.
 *
 * It connects only to the host and port it is given; a host name is resolved through `lookup` alone, so a test can
 * make every name resolve to 127.0.0.1 and never ask a real DNS server.
 */
import { lookup as dnsLookup } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { connect, type PeerCertificate, type DetailedPeerCertificate } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { keyTypeText, type KeyType } from '../model/certificate.js';
import { certificateNames } from '../certificate/names.js';

/** The signature algorithms offered per key type (OpenSSL names, node's `sigalgs` option). */
export const SIGALGS: Readonly<Record<KeyType, string>> = {
  ECC: ['ecdsa_secp256r1_sha256', 'ecdsa_secp384r1_sha384', 'ecdsa_secp521r1_sha512'].join(':'),
  RSA: [
    'rsa_pss_rsae_sha256',
    'rsa_pss_rsae_sha384',
    'rsa_pss_rsae_sha512',
    'rsa_pkcs1_sha256',
    'rsa_pkcs1_sha384',
    'rsa_pkcs1_sha512',
  ].join(':'),
};

export interface ProbeOptions {
  /** Where to connect: an IP address or a host name (resolved through `lookup`). */
  host: string;
  port: number;
  /** The SNI name: a host name, never a wildcard or an IP address. */
  servername: string;
  /** Offer only this key type's signature algorithms, or both, as browsers do. */
  keyType: KeyType | 'both';
  /** The whole probe (resolution, connection, handshake) ends after this long. */
  timeoutMs: number;
  /** Name resolution, called as `dns.lookup` is (honour `options.all`). Default: `dns.lookup`. */
  lookup?: LookupFunction | undefined;
}

/** The leaf the edge served. */
export interface ProbeCertificate {
  /** SHA-256 of the leaf's DER, lowercase hex without colons (as `CertificateChain.fingerprint`). */
  leafSha256: string;
  /** DNS names of the leaf (subjectAltName, else the CN), normalized as config keys are. */
  names: string[];
  notBefore: Date;
  notAfter: Date;
  /** The leaf's key type, when RSA or ECDSA. */
  keyType: KeyType | undefined;
  /** The issuer's distinguished name on one line (`CN=…, O=…`), for messages. */
  issuer: string;
  /** The leaf's serial, lowercase hex. */
  serial: string;
  /**
   * Whether the edge sent the certificate that issued the leaf (or the leaf is self-issued). False: the chain it
   * serves is incomplete. Undefined when not known.
   */
  issuerServed?: boolean | undefined;
}

/** Why there is no certificate: one line naming the host and port, never a stack. */
export interface ProbeFailure {
  error: string;
}

export type ProbeResult = ProbeCertificate | ProbeFailure;

export function isProbeFailure(result: ProbeResult): result is ProbeFailure {
  return 'error' in result;
}

/** A TLS handshake with SNI `servername`, offering only `keyType`'s signature algorithms; never rejects. */
export function probeEdge(options: ProbeOptions): Promise<ProbeResult> {
  const { host, port, servername, keyType, timeoutMs } = options;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (servername.includes('*') || servername.length === 0) {
    return Promise.resolve({ error: `cannot probe ${where}: SNI name "${servername}" is not a host name` });
  }
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    return Promise.resolve({ error: `cannot probe ${where}: port out of range` });
  }
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const socket = connect({
      host,
      port,
      servername,
      sigalgs: keyType === 'both' ? `${SIGALGS.ECC}:${SIGALGS.RSA}` : SIGALGS[keyType],
      minVersion: 'TLSv1.2',
      // The exact leaf is what we compare; chain and name checks would hide a stale or foreign certificate.
      rejectUnauthorized: false,
      lookup: guardedLookup(options.lookup ?? dnsLookup),
    });
    const timer = setTimeout(
      () => finish({ error: `no TLS handshake with ${where} (SNI ${servername}) within ${timeoutMs} ms` }),
      Math.max(1, timeoutMs),
    );
    socket.once('secureConnect', () => {
      // Before getPeerX509Certificate: after it, node 20 answers getPeerCertificate with an empty object.
      const peer = socket.getPeerCertificate(true);
      const leaf = socket.getPeerX509Certificate();
      if (leaf === undefined) {
        finish({ error: `${where} (SNI ${servername}) completed a TLS handshake without a certificate` });
        return;
      }
      const type = leaf.publicKey.asymmetricKeyType;
      finish({
        leafSha256: leaf.fingerprint256.replaceAll(':', '').toLowerCase(),
        names: certificateNames(leaf),
        notBefore: new Date(leaf.validFrom),
        notAfter: new Date(leaf.validTo),
        keyType: type === 'rsa' ? 'RSA' : type === 'ec' ? 'ECC' : undefined,
        issuer: leaf.issuer.split('\n').join(', '),
        serial: leaf.serialNumber.toLowerCase(),
        issuerServed: issuerServed(leaf, peer),
      });
    });
    socket.once('error', (error: Error) =>
      finish({ error: describeError(error, where, servername, keyType) }),
    );
    socket.once('close', () =>
      finish({ error: `${where} (SNI ${servername}) closed the connection before the TLS handshake ended` }),
    );
  });
}

/**
 * Whether the certificates the edge sent after the leaf hold the one that issued it (by name and signature), or the
 * leaf is self-issued. Node may add the root from its own store at the end of the list: a root that issued the leaf
 * is one a browser holds too.
 */
function issuerServed(
  leaf: X509Certificate,
  peer: PeerCertificate | DetailedPeerCertificate,
): boolean | undefined {
  if (leaf.checkIssued(leaf)) return true;
  const seen = new Set<PeerCertificate>([peer]);
  let next = 'issuerCertificate' in peer ? peer.issuerCertificate : undefined;
  while (next !== undefined && next !== null && !seen.has(next) && seen.size < 20) {
    seen.add(next);
    if (next.raw === undefined) return undefined;
    try {
      const cert = new X509Certificate(next.raw);
      if (leaf.checkIssued(cert) && leaf.verify(cert.publicKey)) return true;
    } catch {
      // A certificate node could not hand over whole: look at the next.
    }
    next = 'issuerCertificate' in next ? next.issuerCertificate : undefined;
  }
  return false;
}

/** A lookup that throws becomes a failed resolution, not a crash. */
function guardedLookup(lookup: LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    try {
      lookup(hostname, options, callback);
    } catch (error) {
      const failure = Object.assign(new Error(`cannot resolve ${hostname}`), {
        code: (error as NodeJS.ErrnoException).code ?? 'ENOTFOUND',
      });
      callback(failure, '', 4);
    }
  };
}

/** One line from a socket or TLS error: what happened and where, from the error's code rather than its text. */
export function describeError(
  error: Error,
  where: string,
  servername: string,
  keyType: KeyType | 'both',
): string {
  const { code, hostname, reason } = error as NodeJS.ErrnoException & { hostname?: string; reason?: string };
  switch (code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where}`;
    case 'ECONNRESET':
      return `${where} reset the connection during the TLS handshake (SNI ${servername})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NODATA':
    case 'EAI_NONAME':
      return `cannot resolve ${hostname ?? where.replace(/:\d+$/, '')} (${code})`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return `${where} is unreachable (${code})`;
    default:
      break;
  }
  if (typeof code === 'string' && code.startsWith('ERR_SSL_')) {
    return `TLS handshake with ${where} (SNI ${servername}, ${keyType === 'both' ? 'RSA and ECDSA' : `${keyTypeText(keyType)} only`}) failed: ${reason ?? code}`;
  }
  return `TLS handshake with ${where} (SNI ${servername}) failed (${code ?? error.name})`;
}
