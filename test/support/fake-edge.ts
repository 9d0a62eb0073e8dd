/**
 * A fake Imperva edge: a TLS server on 127.0.0.1 that serves, per SNI name and per the key type the client's
 * signature algorithms allow (RSA or ECDSA), the custom certificate that the fake API (fake-imperva.ts) holds for the
 * site whose names match the SNI — once the upload has propagated (`propagationMs` after it; until then, the previous
 * custom certificate of that key type, or Imperva's own). Where a site holds no custom certificate of a key type, the
 * edge serves Imperva's own certificate for the site, made by its own CA ("incap-cert fake Imperva CA").
 *
 * Imperva's own certificate comes in two kinds, so that tests can tell `stale` from `wrong`:
 * - 'site' (default): covers the site's names and expires `ownLifetimeDays` (default 30) from now — before a fresh
 *   90-day local certificate, so a probe judges it `stale`;
 * - 'generic': `*.incapsula.test` only — names that do not cover the site, so `wrong`.
 * A client without SNI, or with a name of no site, gets the generic one.
 *
 * Each connection gets a SecureContext holding an RSA and an ECDSA pair, so OpenSSL picks by the client's sigalgs, as
 * Imperva's edge does. Not through tls.createServer's SNICallback: node (20, 22) copies only ONE certificate from the
 * context an SNI callback returns (`UseSNIContext` in src/crypto/crypto_common.cc), so the other key type would stay
 * the default context's. Instead the edge reads the ClientHello's server_name itself, then starts the TLS server side
 * on that connection with the site's two-pair context.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import {
  createServer as createHttpServer,
  request as httpRequest,
  type Server as HttpServer,
} from 'node:http';
import { join } from 'node:path';
import type { LookupAddress } from 'node:dns';
import { createServer, type AddressInfo, type LookupFunction, type Server, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { TLSSocket, createSecureContext, type SecureContext } from 'node:tls';
import type { AuthType, FakeImperva, FakeSite, Served } from './fake-imperva.js';
import { createPki, issueLeaf, type Leaf, type Pki } from './pki.js';

export type OwnKind = 'site' | 'generic';

export interface FakeEdgeOptions {
  imperva: FakeImperva;
  /** How long after an upload the edge starts serving it (default 0: at once). */
  propagationMs?: number;
  /** Imperva's own certificate for sites without a custom one (default 'site'). */
  own?: OwnKind;
  /** Per site id, overriding `own`. */
  ownFor?: Record<string, OwnKind>;
  /** Lifetime left of Imperva's own per-site certificates (default 30 days). */
  ownLifetimeDays?: number;
}

/** One ClientHello the edge read: the SNI it carried and the site that matched. */
export interface Hello {
  servername: string | undefined;
  siteId: string | undefined;
  at: number;
}

/**
 * One TLS handshake the edge completed: the SNI and the leaf it served. Recorded when the server side finishes,
 * which may be after the client has its certificate: assert on `hellos` right after a probe, on this after a wait.
 */
export interface Handshake {
  servername: string | undefined;
  siteId: string | undefined;
  /** SHA-256 of the served leaf, lowercase hex. */
  fingerprint: string | undefined;
  at: number;
}

interface Pair {
  cert: string;
  key: string;
}

const DAY = 86_400_000;
const GENERIC_NAMES = ['*.incapsula.test', 'incapsula.test'];

export class FakeEdge {
  readonly host = '127.0.0.1';
  readonly hellos: Hello[] = [];
  readonly handshakes: Handshake[] = [];
  propagationMs: number;
  /** When true, the edge accepts connections and never answers the TLS handshake (a probe must time out). */
  stall = false;
  /** The per-site kind of Imperva's own certificate; change it at will. */
  readonly ownFor: Map<string, OwnKind>;
  private readonly own: OwnKind;
  private readonly ownLifetimeDays: number;
  private readonly ownCache = new Map<string, Promise<Leaf>>();
  private readonly sockets = new Set<Socket>();
  private readonly contexts = new Map<string, SecureContext>();
  private readonly defaultContext: SecureContext;

  private constructor(
    private readonly imperva: FakeImperva,
    /** Imperva's own CA, not the one that issues the tests' local certificates. */
    readonly ca: Pki,
    private readonly generic: Record<AuthType, Leaf>,
    private readonly server: Server,
    readonly port: number,
    options: FakeEdgeOptions,
  ) {
    this.propagationMs = options.propagationMs ?? 0;
    this.own = options.own ?? 'site';
    this.ownFor = new Map(Object.entries(options.ownFor ?? {}));
    this.ownLifetimeDays = options.ownLifetimeDays ?? 30;
    this.defaultContext = createSecureContext(context(pairOf(generic.RSA), pairOf(generic.ECC)));
  }

  static async start(options: FakeEdgeOptions): Promise<FakeEdge> {
    const ca = await createPki();
    const generic = await genericLeaves(ca);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const edge = new FakeEdge(options.imperva, ca, generic, server, port, options);
    server.on('connection', (socket: Socket) => edge.accept(socket));
    return edge;
  }

  /** `HOST:PORT`, as config `edgeAddress` / env `INCAP_CERT_EDGE` take it. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** The site whose names match `servername`: an exact name first, then a wildcard one label up. */
  siteFor(servername: string): FakeSite | undefined {
    const name = servername.toLowerCase().replace(/\.$/, '');
    const sites = [...this.imperva.sites.values()];
    const exact = sites.find((site) => site.names.some((candidate) => candidate.toLowerCase() === name));
    if (exact !== undefined) return exact;
    const parent = name.slice(name.indexOf('.') + 1);
    return sites.find((site) => site.names.some((candidate) => candidate.toLowerCase() === `*.${parent}`));
  }

  /**
   * The custom certificate the edge serves now for a site and key type: the newest upload that has propagated.
   * undefined when it serves Imperva's own.
   */
  customServed(siteId: string, authType: AuthType, now = Date.now()): Served | undefined {
    let served = this.imperva.sites.get(siteId)?.served[authType];
    while (served !== undefined && now - served.uploadedAt < this.propagationMs) served = served.previous;
    return served;
  }

  /** Imperva's own certificate for a site and key type (what the edge serves without a custom one). */
  ownCertificate(siteId: string, authType: AuthType): Promise<Leaf> {
    const site = this.imperva.sites.get(siteId);
    const kind = this.ownFor.get(siteId) ?? this.own;
    if (site === undefined || kind === 'generic') return Promise.resolve(this.generic[authType]);
    const key = `${siteId}\0${authType}\0${site.names.join(',')}`;
    let leaf = this.ownCache.get(key);
    if (leaf === undefined) {
      leaf = issueLeaf(this.ca, {
        names: site.names,
        keyType: authType === 'ECC' ? 'ec' : 'rsa',
        notBefore: new Date(Date.now() - 60 * DAY),
        notAfter: new Date(Date.now() + this.ownLifetimeDays * DAY),
      });
      this.ownCache.set(key, leaf);
    }
    return leaf;
  }

  /** The SHA-256 (hex) of the leaf served now for a site and key type: the custom one or Imperva's own. */
  async fingerprintServed(siteId: string, authType: AuthType): Promise<string> {
    return (
      this.customServed(siteId, authType)?.fingerprint ??
      (await this.ownCertificate(siteId, authType)).fingerprint
    );
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Reads the ClientHello, picks the context by its SNI, and hands the connection to a server-side TLS socket. */
  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const hello = readClientHello(head);
      if (hello === 'more') return;
      socket.off('data', onData);
      socket.pause();
      if (this.stall) return; // hold the connection, never answer
      const servername = hello?.servername;
      this.hellos.push({
        servername,
        siteId: servername === undefined ? undefined : this.siteFor(servername)?.id,
        at: Date.now(),
      });
      void this.contextFor(servername).then(
        (secureContext) => this.serve(socket, head, secureContext, servername),
        () => socket.destroy(),
      );
    };
    socket.on('data', onData);
  }

  private serve(
    socket: Socket,
    head: Buffer,
    secureContext: SecureContext,
    servername: string | undefined,
  ): void {
    const tls = new TLSSocket(new Replayed(socket, head), { isServer: true, secureContext });
    tls.on('secure', () => {
      const served = tls.getX509Certificate();
      this.handshakes.push({
        servername,
        siteId: servername === undefined ? undefined : this.siteFor(servername)?.id,
        fingerprint: served?.fingerprint256.replaceAll(':', '').toLowerCase(),
        at: Date.now(),
      });
      tls.end();
    });
    tls.on('error', () => socket.destroy());
  }

  private async contextFor(servername: string | undefined): Promise<SecureContext> {
    const site = servername === undefined ? undefined : this.siteFor(servername);
    if (site === undefined) return this.defaultContext; // the generic certificate
    const pairs = await Promise.all(
      (['RSA', 'ECC'] as const).map(async (authType): Promise<Pair> => {
        const custom = this.customServed(site.id, authType);
        if (custom !== undefined) return { cert: custom.certPem, key: custom.keyPem };
        return pairOf(await this.ownCertificate(site.id, authType));
      }),
    );
    const [rsa, ecc] = pairs as [Pair, Pair];
    // One context per pair of certificates served (a SecureContext is costly to build; handshakes are many).
    const cacheKey = `${rsa.cert}\0${ecc.cert}`;
    let secureContext = this.contexts.get(cacheKey);
    if (secureContext === undefined) {
      secureContext = createSecureContext(context(rsa, ecc));
      this.contexts.set(cacheKey, secureContext);
    }
    return secureContext;
  }
}

/**
 * The server_name of a TLS ClientHello at the start of `data`: 'more' while the first record is incomplete;
 * undefined when it is not a ClientHello or carries no host name. (RFC 8446 4.1.2, RFC 6066 3.)
 */
export function readClientHello(data: Buffer): { servername: string | undefined } | 'more' | undefined {
  if (data.length < 5) return 'more';
  if (data[0] !== 0x16) return undefined; // not a handshake record
  const length = data.readUInt16BE(3);
  if (data.length < 5 + length) return length > 16_384 ? undefined : 'more';
  const hello = data.subarray(5, 5 + length);
  try {
    if (hello[0] !== 0x01) return undefined; // not a ClientHello
    let at = 4 + 2 + 32; // handshake header, legacy_version, random
    at += 1 + (hello[at] ?? 0); // legacy_session_id
    at += 2 + hello.readUInt16BE(at); // cipher_suites
    at += 1 + (hello[at] ?? 0); // legacy_compression_methods
    const end = at + 2 + hello.readUInt16BE(at);
    at += 2;
    while (at + 4 <= end) {
      const type = hello.readUInt16BE(at);
      const size = hello.readUInt16BE(at + 2);
      at += 4;
      if (type === 0x0000) {
        // server_name_list: [name_type(1) = host_name(0), length(2), name]
        let entry = at + 2;
        while (entry + 3 <= at + size) {
          const nameLength = hello.readUInt16BE(entry + 1);
          if (hello[entry] === 0) {
            return { servername: hello.subarray(entry + 3, entry + 3 + nameLength).toString('ascii') };
          }
          entry += 3 + nameLength;
        }
      }
      at += size;
    }
  } catch {
    return undefined; // a ClientHello cut short
  }
  return { servername: undefined };
}

/** The socket, with the bytes already read from it played back first: what the TLS server side reads from. */
class Replayed extends Duplex {
  constructor(
    private readonly socket: Socket,
    head: Buffer,
  ) {
    super();
    this.push(head);
    socket.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('close', () => this.destroy());
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.socket.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}

/** Both pairs in one context: OpenSSL picks the one the client's signature algorithms allow. */
function context(rsa: Pair, ecc: Pair): { cert: string[]; key: string[] } {
  return { cert: [rsa.cert, ecc.cert], key: [rsa.key, ecc.key] };
}

function pairOf(leaf: Leaf): Pair {
  return { cert: leaf.fullchainPem, key: leaf.keyPem };
}

async function genericLeaves(ca: Pki): Promise<Record<AuthType, Leaf>> {
  const notBefore = new Date(Date.now() - 60 * DAY);
  const notAfter = new Date(Date.now() + 300 * DAY);
  const [rsa, ecc] = await Promise.all([
    issueLeaf(ca, { names: GENERIC_NAMES, keyType: 'rsa', notBefore, notAfter }),
    issueLeaf(ca, { names: GENERIC_NAMES, keyType: 'ec', notBefore, notAfter }),
  ]);
  return { RSA: rsa, ECC: ecc };
}

/**
 * A `lookup` for the probe that resolves the given names (all names when none are given) to 127.0.0.1 and fails for
 * others with ENOTFOUND, never asking a DNS server. `calls` records every name asked for.
 */
export function loopbackLookup(names?: readonly string[]): LookupFunction & { calls: string[] } {
  const calls: string[] = [];
  const allowed = names?.map((name) => name.toLowerCase());
  const lookup = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    calls.push(hostname);
    if (allowed !== undefined && !allowed.includes(hostname.toLowerCase())) {
      const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
        code: 'ENOTFOUND',
        hostname,
      });
      process.nextTick(() => callback(error, options.all === true ? [] : '', 4));
      return;
    }
    const address: LookupAddress = { address: '127.0.0.1', family: 4 };
    process.nextTick(() =>
      options.all === true ? callback(null, [address]) : callback(null, address.address, address.family),
    );
  }) as unknown as LookupFunction & { calls: string[] };
  lookup.calls = calls;
  return lookup;
}

/** The leaf of a PEM chain, for assertions. */
export function leafOf(pem: string): X509Certificate {
  return new X509Certificate(pem);
}

/**
 * What the fake edge does on its http port (80 in production) for a name: pass the request through to the origin
 * (the file under the name's web root), answer Imperva's block page with an incident ID, redirect, or drop the
 * connection; 'hang' never answers (a run stopped while it waits).
 */
export type HttpEdgeMode = 'pass' | 'block' | 'drop' | 'hang' | { redirect: string };

export const INCIDENT_ID = '1234000560078901234-56789012345678901';

/** The fake edge's http side: an http server on 127.0.0.1 answering per Host header as `modes` says. */
export class FakeHttpEdge {
  private constructor(
    private readonly server: HttpServer,
    readonly address: string,
    /** Each request; `fileUid` is the owner of the challenge file it served from the web root (pass-through). */
    readonly requests: { host: string; path: string; userAgent: string; fileUid?: number }[],
    private readonly waiting: (() => void)[],
  ) {}

  /** Resolves when the next request arrives. */
  nextRequest(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  static async start(options: {
    /** The web root the origin serves for a name (pass-through). */
    webroot: (name: string) => string | undefined;
    /** The folder served as /.well-known/acme-challenge/ when it is not under the web root (dehydrated's WELLKNOWN). */
    challengeFolder?: (name: string) => string | undefined;
    /** Per name; default 'pass'. */
    modes?: Record<string, HttpEdgeMode>;
    /** A real origin web server (HOST:PORT) that 'pass' hands the request to, as Imperva's proxy does. */
    origin?: string;
  }): Promise<FakeHttpEdge> {
    const requests: FakeHttpEdge['requests'] = [];
    const waiting: (() => void)[] = [];
    const server = createHttpServer((req, res) => {
      const host = (req.headers.host ?? '').toLowerCase();
      const path = req.url ?? '/';
      const request: FakeHttpEdge['requests'][number] = {
        host,
        path,
        userAgent: req.headers['user-agent'] ?? '',
      };
      requests.push(request);
      for (const resolve of waiting.splice(0)) resolve();
      const mode = options.modes?.[host] ?? 'pass';
      if (mode === 'hang') return;
      if (mode === 'drop') {
        req.socket.destroy();
        return;
      }
      if (mode === 'block') {
        res.writeHead(403, { 'content-type': 'text/html' });
        res.end(
          `<html><body><iframe src="/_Incapsula_Resource?incident_id=${INCIDENT_ID}"></iframe>` +
            `Request unsuccessful. Incapsula incident ID: ${INCIDENT_ID}</body></html>`,
        );
        return;
      }
      if (typeof mode === 'object') {
        res.writeHead(301, { location: mode.redirect.replace('$PATH', path) });
        res.end();
        return;
      }
      if (options.origin !== undefined) {
        const [originHost = '', originPort = ''] = options.origin.split(':');
        const forward = httpRequest(
          {
            host: originHost,
            port: Number(originPort),
            path,
            headers: { host, 'user-agent': req.headers['user-agent'] },
          },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
          },
        );
        forward.on('error', () => {
          res.writeHead(502);
          res.end('Bad Gateway');
        });
        forward.end();
        return;
      }
      const root = options.webroot(host);
      const folder =
        options.challengeFolder?.(host) ??
        (root === undefined ? undefined : join(root, '.well-known', 'acme-challenge'));
      const match = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(path);
      try {
        if (folder === undefined || match?.[1] === undefined) throw new Error('no such file');
        request.fileUid = statSync(join(folder, match[1])).uid;
        res.end(readFileSync(join(folder, match[1])));
      } catch {
        res.writeHead(404);
        res.end('Not Found');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new FakeHttpEdge(server, `127.0.0.1:${(server.address() as AddressInfo).port}`, requests, waiting);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
