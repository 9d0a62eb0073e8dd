/**
 * The project's one fake Imperva API: the v1 custom-certificate upload and `sites/status`, behaving as
 * ../shared/reference/imperva-api.md describes. Listens on 127.0.0.1 only, on a free port. Records every request for
 * assertions, keeps what each site serves, and injects faults and latency on demand.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type AuthType = 'RSA' | 'ECC';

export interface Served {
  authType: AuthType;
  /** SHA-256 of the leaf, lowercase hex. */
  fingerprint: string;
  inputHash: string | undefined;
  /** Leaf notAfter, ms since the epoch, as Imperva reports it. */
  expirationDate: number;
  chainLength: number;
  uploadedAt: number;
}

export interface FakeSite {
  id: string;
  domain: string;
  served: Partial<Record<AuthType, Served>>;
  /** The key type uploaded last: what `sites/status` shows. */
  lastType: AuthType | undefined;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** 'upload', 'status' or 'other'. */
  endpoint: 'upload' | 'status' | 'other';
  headers: IncomingHttpHeaders;
  query: Record<string, string>;
  form: Record<string, string>;
  rawBody: string;
  siteId: string | undefined;
  /** The `res` answered, when an answer was sent; undefined for injected faults without an envelope. */
  res: number | undefined;
  at: number;
}

export interface Fault {
  /** Answer with this HTTP status (default 200). */
  status?: number;
  /** Answer with this body, as it is. */
  body?: string;
  /** Answer with these bytes, as they are (e.g. gzip with a `content-encoding` header); wins over `body`. */
  bodyBytes?: Buffer;
  contentType?: string;
  headers?: Record<string, string>;
  /** Answer with a JSON error envelope with this res code. */
  res?: number;
  /** Wait this long before acting. */
  delayMs?: number;
  /** Destroy the connection without an answer. */
  reset?: boolean;
  /** Never answer (until the server closes). */
  hang?: boolean;
}

export interface FaultRule {
  endpoint?: 'upload' | 'status';
  siteId?: string;
  /** How many matching requests get the fault (default 1; Infinity for all). */
  times?: number;
  fault: Fault;
}

export interface FakeImpervaOptions {
  apiId: string;
  apiKey: string;
  /** site id → the site's domain. */
  sites: Record<string, string>;
  /** Added to every answer. */
  latencyMs?: number;
  /** Imperva's throttling: a token bucket per account; a request without a token gets HTTP 429 and Retry-After. */
  rateLimit?: { perSecond: number; burst: number };
}

const RES_MESSAGES: Record<number, string> = {
  1: 'Unexpected error',
  2: 'Invalid input',
  4: 'Operation timed-out or server unavailable',
  3015: 'Internal error',
  9403: 'Unknown/unauthorized account_id',
  9411: 'Authentication missing or invalid',
  9413: 'Unknown/unauthorized site_id',
  9414: 'Feature not permitted',
  9415: 'Operation not allowed',
};

export class FakeImperva {
  readonly requests: RecordedRequest[] = [];
  readonly sites = new Map<string, FakeSite>();
  latencyMs: number;
  /** Requests being handled right now, and the most at once. */
  inFlight = 0;
  maxInFlight = 0;
  /** Requests answered 429 by the rate limit. */
  throttled = 0;
  private tokens: number;
  private tokensAt = Date.now();
  private readonly faults: FaultRule[] = [];
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    private readonly options: FakeImpervaOptions,
    readonly url: string,
  ) {
    this.latencyMs = options.latencyMs ?? 0;
    this.tokens = options.rateLimit?.burst ?? 0;
    for (const [id, domain] of Object.entries(options.sites)) this.addSite(id, domain);
  }

  static async start(options: FakeImpervaOptions): Promise<FakeImperva> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const fake = new FakeImperva(server, options, `http://127.0.0.1:${port}`);
    server.on('connection', (socket) => {
      fake.sockets.add(socket);
      socket.on('close', () => fake.sockets.delete(socket));
    });
    server.on('request', (req, res) => void fake.handle(req, res));
    return fake;
  }

  addSite(id: string, domain: string): void {
    this.sites.set(id, { id, domain, served: {}, lastType: undefined });
  }

  /** What a site serves now for a key type (default: the type uploaded last). */
  serving(siteId: string, authType?: AuthType): Served | undefined {
    const site = this.sites.get(siteId);
    const type = authType ?? site?.lastType;
    return type === undefined ? undefined : site?.served[type];
  }

  uploads(): RecordedRequest[] {
    return this.requests.filter((request) => request.endpoint === 'upload');
  }

  /** Uploads that Imperva accepted (res 0). */
  acceptedUploads(): RecordedRequest[] {
    return this.uploads().filter((request) => request.res === 0);
  }

  inject(rule: FaultRule): void {
    this.faults.push({ times: 1, ...rule });
  }

  clearFaults(): void {
    this.faults.length = 0;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://fake');
      const form = /x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')
        ? Object.fromEntries(new URLSearchParams(rawBody))
        : {};
      const endpoint = url.pathname.endsWith('/api/prov/v1/sites/customCertificate/upload')
        ? 'upload'
        : url.pathname.endsWith('/api/prov/v1/sites/status')
          ? 'status'
          : 'other';
      const record: RecordedRequest = {
        method: req.method ?? '',
        path: url.pathname,
        endpoint,
        headers: req.headers,
        query: Object.fromEntries(url.searchParams),
        form,
        rawBody,
        siteId: form.site_id,
        res: undefined,
        at: Date.now(),
      };
      this.requests.push(record);
      const wait = this.takeToken();
      if (wait !== undefined) {
        this.throttled += 1;
        res.writeHead(429, {
          'content-type': 'text/html',
          'retry-after': String(Math.max(1, Math.ceil(wait / 1000))),
        });
        res.end('<html><body>Too many requests</body></html>');
        return;
      }
      if (this.latencyMs > 0) await sleep(this.latencyMs);

      const fault = this.takeFault(record);
      if (fault !== undefined) {
        if (fault.delayMs !== undefined) await sleep(fault.delayMs);
        if (fault.reset === true) {
          req.socket.destroy();
          return;
        }
        if (fault.hang === true) return; // the socket is destroyed on close()
        if (fault.res !== undefined) {
          record.res = fault.res;
          return send(res, fault.status ?? 200, envelope(fault.res), fault.headers);
        }
        res.writeHead(fault.status ?? 200, {
          'content-type': fault.contentType ?? 'text/html',
          ...fault.headers,
        });
        res.end(fault.bodyBytes ?? fault.body ?? '');
        return;
      }

      const answer =
        req.method !== 'POST' || endpoint === 'other' ? envelope(1) : this.answer(endpoint, record);
      record.res = Number(answer.res);
      send(res, 200, answer);
    } finally {
      this.inFlight -= 1;
    }
  }

  /** undefined when the request may pass; else how long until the next token (ms). */
  private takeToken(): number | undefined {
    const limit = this.options.rateLimit;
    if (limit === undefined) return undefined;
    const now = Date.now();
    this.tokens = Math.min(limit.burst, this.tokens + ((now - this.tokensAt) / 1000) * limit.perSecond);
    this.tokensAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return undefined;
    }
    return ((1 - this.tokens) / limit.perSecond) * 1000;
  }

  private takeFault(record: RecordedRequest): Fault | undefined {
    const rule = this.faults.find(
      (candidate) =>
        (candidate.times ?? 1) > 0 &&
        (candidate.endpoint === undefined || candidate.endpoint === record.endpoint) &&
        (candidate.siteId === undefined || candidate.siteId === record.siteId),
    );
    if (rule === undefined) return undefined;
    rule.times = (rule.times ?? 1) - 1;
    return rule.fault;
  }

  private answer(endpoint: 'upload' | 'status', request: RecordedRequest): Record<string, unknown> {
    // Headers, or the legacy api_id/api_key form fields (the seed's curl recipe; incap-cert never sends them).
    const id = header(request.headers, 'x-api-id') ?? request.form.api_id;
    const key = header(request.headers, 'x-api-key') ?? request.form.api_key;
    if (id !== this.options.apiId || key !== this.options.apiKey) return envelope(9411);
    const site = this.sites.get(request.form.site_id ?? '');
    if (site === undefined) return envelope(9413);
    return endpoint === 'upload' ? this.upload(site, request.form) : status(site);
  }

  private upload(site: FakeSite, form: Record<string, string>): Record<string, unknown> {
    const certificatePem = decodeBase64(form.certificate);
    const keyPem = decodeBase64(form.private_key);
    if (certificatePem === undefined || keyPem === undefined)
      return envelope(2, 'certificate or private_key is not base64');
    const blocks =
      certificatePem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    let chain: X509Certificate[];
    let key: KeyObject;
    try {
      chain = blocks.map((block) => new X509Certificate(block));
      key = createPrivateKey(keyPem);
    } catch {
      return envelope(2, 'certificate or private key does not parse');
    }
    const leaf = chain[0];
    if (leaf === undefined) return envelope(2, 'no certificate');
    if (!leaf.checkPrivateKey(key)) return envelope(2, 'private key does not match the certificate');
    const keyType: AuthType = key.asymmetricKeyType === 'ec' ? 'ECC' : 'RSA';
    const authType = form.auth_type ?? 'RSA';
    if (authType !== 'RSA' && authType !== 'ECC') return envelope(2, 'auth_type must be RSA or ECC');
    // Imperva keeps one certificate per key type; an ECDSA certificate sent as RSA fails.
    if (authType !== keyType) return envelope(1);
    const expirationDate = new Date(leaf.validTo).getTime();
    const served: Served = {
      authType,
      fingerprint: leaf.fingerprint256.replaceAll(':', '').toLowerCase(),
      inputHash: form.input_hash,
      expirationDate,
      chainLength: chain.length,
      uploadedAt: Date.now(),
    };
    site.served[authType] = served;
    site.lastType = authType;
    return {
      res: 0,
      res_message: 'OK',
      debug_info: { details: verdict(site, served, leaf), 'id-info': '13008' },
    };
  }
}

function status(site: FakeSite): Record<string, unknown> {
  const served = site.lastType === undefined ? undefined : site.served[site.lastType];
  return {
    res: 0,
    res_message: 'OK',
    site_id: Number(site.id),
    domain: site.domain,
    ssl:
      served === undefined
        ? {}
        : { custom_certificate: { ...verdict(site, served), inputHash: served.inputHash } },
  };
}

function verdict(site: FakeSite, served: Served, leaf?: X509Certificate): Record<string, unknown> {
  return {
    active: true,
    expirationDate: served.expirationDate,
    revocationError: false,
    validityError: served.expirationDate < Date.now(),
    chainError: served.chainLength < 2,
    hostnameMismatchError: leaf === undefined ? false : leaf.checkHost(site.domain) === undefined,
  };
}

export function envelope(res: number, detail?: string): Record<string, unknown> {
  return {
    res,
    res_message: RES_MESSAGES[res] ?? 'Error',
    debug_info: { 'id-info': '13008', ...(detail === undefined ? {} : { Error: detail }) },
  };
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', ...headers });
  res.end(JSON.stringify(body));
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Strict standard base64 (no line breaks), as Imperva wants it. */
function decodeBase64(value: string | undefined): string | undefined {
  if (value === undefined || value.length === 0 || value.length % 4 !== 0) return undefined;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
  return Buffer.from(value, 'base64').toString('utf8');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
