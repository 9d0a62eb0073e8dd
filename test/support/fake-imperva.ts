/**
 * The project's one fake Imperva API: the v1 custom-certificate upload, remove, `sites/status` (with `dns`) and
 * `account/verify`, the v3 certificates listing (per site and account-wide), the listing of Imperva's own
 * certificates (`certType=ATLAS`) and the key's own record (`/authorization/v3/api-clients`), behaving as
 * docs/imperva-api.md describes. Listens on 127.0.0.1 only, on a free port. Records every request for
 * assertions, keeps what each site holds per key type (certificate and key PEM too, so test/support/fake-edge.ts can
 * serve them), and injects faults and latency on demand.
 */
import { X509Certificate, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type AuthType = 'RSA' | 'ECC';

/** What a request was for: v1 upload, status, remove, account/verify; v3 certificates; anything else. */
export type Endpoint =
  'upload' | 'status' | 'certificates' | 'own-certificates' | 'api-clients' | 'remove' | 'verify' | 'other';

/**
 * Imperva's own certificate of a site: its v3 status (ACTIVE, NEAR_EXPIRATION, IN_PROCESS, EXPIRED), the names it
 * holds (default: every name of the site) and whether they are validated (default true).
 */
export interface OwnCertificate {
  status: string;
  names?: string[];
  validated?: boolean;
}

/** The key's own record: 'ok' answers it; 403 or 404 refuse it as Imperva does for a key that may not read it. */
export type KeyRecordMode = 'ok' | 403 | 404;

/**
 * How the v3 certificates API answers: 'ok', or every call fails with that HTTP status and a v3 `{"errors":[…]}`
 * body, or 'absent': the route does not exist (HTTP 404, an HTML page, no JSON).
 */
export type V3Mode = 'ok' | 401 | 403 | 404 | 'absent';

/**
 * The account-wide v3 listing (no `extSiteId`): 'ok', or that HTTP status with a v3 error body while per-site
 * calls still work.
 */
export type V3AccountWide = 'ok' | 400 | 403 | 404;

/**
 * How v3 writes fingerprints and serials. 'openssl': `SHA1 Fingerprint=AA:BB:…` and `0A:1B:…` (uppercase, colons);
 * 'plain': lowercase hex, no prefix, no colons. Clients must normalize both.
 */
export type V3Format = 'openssl' | 'plain';

export interface Served {
  authType: AuthType;
  /** SHA-256 of the leaf, lowercase hex. */
  fingerprint: string;
  inputHash: string | undefined;
  /** Leaf notAfter, ms since the epoch, as Imperva reports it. */
  expirationDate: number;
  chainLength: number;
  uploadedAt: number;
  /** SHA-1 of the leaf, lowercase hex (v3 reports it, in its own format). */
  sha1: string;
  /** The leaf's serial, lowercase hex (as node prints it). */
  serial: string;
  /** What was uploaded, decoded: the certificate PEM (leaf and chain) and the key PEM, for the fake edge. */
  certPem: string;
  keyPem: string;
  /** What this key type held before this upload (the fake edge serves it until the upload has propagated). */
  previous: Served | undefined;
}

export interface FakeSite {
  id: string;
  domain: string;
  served: Partial<Record<AuthType, Served>>;
  /** The key type uploaded last: what `sites/status` shows. */
  lastType: AuthType | undefined;
  /** Every name the site answers for at the edge: the domain first, then aliases (a wildcard is allowed). */
  names: string[];
  /** The site's CNAME target, as `sites/status` `dns` gives it. */
  cname: string;
  /** Whether `sites/status` writes `set_data_to` as a string or as a list (Imperva does both). */
  dnsStyle: 'string' | 'list';
}

export interface RecordedRequest {
  method: string;
  path: string;
  endpoint: Endpoint;
  headers: IncomingHttpHeaders;
  query: Record<string, string>;
  form: Record<string, string>;
  rawBody: string;
  /** `site_id` (v1 form) or `extSiteId` (v3 query). */
  siteId: string | undefined;
  /** The `res` answered, when an answer was sent; undefined for injected faults without an envelope. */
  res: number | undefined;
  /** The HTTP status answered (set for v3 answers and for v1 answers sent with an envelope). */
  status?: number | undefined;
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
  endpoint?: Exclude<Endpoint, 'other'>;
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
  /**
   * Imperva's throttling: a token bucket per account; a request without a token gets HTTP 429, with Retry-After
   * unless `retryAfter` is false (no source shows Imperva sending it).
   */
  rateLimit?: { perSecond: number; burst: number; retryAfter?: boolean };
  /** site id → more names the site answers for at the edge (aliases, a wildcard); its domain is always one. */
  names?: Record<string, string[]>;
  /** How v3 answers (default 'ok'). Also settable later through the `v3` property. */
  v3?: V3Mode;
  /** How the account-wide v3 listing answers (default 'ok'). */
  v3AccountWide?: V3AccountWide;
  v3Format?: V3Format;
  /** What `account/verify` reports. */
  account?: { id: number; name: string; planName: string };
  /** The key is disabled: every v1 call answers res 9418, v3 answers 401. */
  disabledKey?: boolean;
  /**
   * Whether an upload is flagged when its leaf does not cover the site's domain, and under which name: the
   * swagger's `coverageError` or the CLI's `hostnameMismatchError`. Off by default: most tests map names to the
   * fake's sites loosely, and a flagged upload fails its site.
   */
  coverageFlag?: 'coverageError' | 'hostnameMismatchError' | undefined;
  /**
   * v3 lists custom certificates as legacy sites show them: empty fingerprint and serial; 'bare': nothing about
   * the certificate at all (no fingerprint, serial, input hash or expiry).
   */
  v3Legacy?: boolean | 'bare';
  /**
   * v3 listings hold Imperva's own certificate of each site even with certType=CUSTOM_CERT, as Imperva's Terraform
   * fixture shows (no type, an ATLAS name, account level, no extSiteId).
   */
  v3OwnCertificates?: boolean;
  /** Error answers echo the API key and the start of the private key sent (for secret-scan tests). */
  echoSecrets?: boolean;
  /** How the key's own record answers (default 403: not readable, as nothing says a key may read it). */
  keyRecord?: KeyRecordMode;
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
  9418: 'Disabled API Key',
};

const DAY = 86_400_000;

export class FakeImperva {
  readonly requests: RecordedRequest[] = [];
  readonly sites = new Map<string, FakeSite>();
  latencyMs: number;
  /** Requests being handled right now, and the most at once. */
  inFlight = 0;
  maxInFlight = 0;
  /** Requests answered 429 by the rate limit. */
  throttled = 0;
  v3: V3Mode;
  v3AccountWide: V3AccountWide;
  v3Format: V3Format;
  disabledKey: boolean;
  echoSecrets: boolean;
  coverageFlag: 'coverageError' | 'hostnameMismatchError' | undefined;
  v3Legacy: boolean | 'bare';
  v3OwnCertificates: boolean;
  /** How `/authorization/v3/api-clients` answers (default 403). */
  keyRecord: KeyRecordMode;
  /** The key's record: when it expires (ms since the epoch; null: never) and whether it is enabled. */
  keyExpiresAt: number | null = Date.now() + 365 * DAY;
  keyEnabled = true;
  /** A secret the key's record carries (`apiKey`), known to nothing else: it must never show anywhere. */
  readonly recordSecret = `record-secret-${randomBytes(12).toString('hex')}`;
  /**
   * Imperva's own certificate per site id: by default every site has one, ACTIVE, validated (names: ownNames). The
   * account-wide listing answers with this HTTP status instead of 'ok' (500: plain text, else a v3 error).
   */
  readonly own = new Map<string, OwnCertificate>();
  ownListing: 'ok' | 400 | 403 | 500 = 'ok';
  /**
   * Sites whose custom certificates Imperva flags as not covering the site, in listings: v3 `hasMismatchSite` and
   * `sites/status` `hostnameMismatchError`.
   */
  readonly mismatched = new Set<string>();
  /** The value those flags carry on a mismatched site: only `true` is documented. */
  mismatchValue: unknown = true;
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
    this.v3 = options.v3 ?? 'ok';
    this.v3AccountWide = options.v3AccountWide ?? 'ok';
    this.v3Format = options.v3Format ?? 'openssl';
    this.disabledKey = options.disabledKey ?? false;
    this.echoSecrets = options.echoSecrets ?? false;
    this.coverageFlag = options.coverageFlag;
    this.v3Legacy = options.v3Legacy ?? false;
    this.v3OwnCertificates = options.v3OwnCertificates ?? false;
    this.keyRecord = options.keyRecord ?? 403;
    for (const [id, domain] of Object.entries(options.sites)) this.addSite(id, domain, options.names?.[id]);
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

  /** Imperva's throttling from now on (a benchmark sets up state first, then limits). */
  setRateLimit(limit: { perSecond: number; burst: number; retryAfter?: boolean } | undefined): void {
    if (limit === undefined) delete this.options.rateLimit;
    else this.options.rateLimit = limit;
    this.tokens = limit?.burst ?? 0;
    this.tokensAt = Date.now();
  }

  addSite(id: string, domain: string, names: readonly string[] = []): void {
    this.sites.set(id, {
      id,
      domain,
      served: {},
      lastType: undefined,
      names: [domain, ...names.filter((name) => name !== domain)],
      cname: `${Number(id).toString(36)}.x.incapdns.net`,
      // Imperva writes `set_data_to` as a string for some records and a list for others: alternate.
      dnsStyle: this.sites.size % 2 === 0 ? 'string' : 'list',
    });
    this.own.set(id, { status: 'ACTIVE' });
  }

  /** What a site serves now for a key type (default: the type uploaded last). */
  serving(siteId: string, authType?: AuthType): Served | undefined {
    const site = this.sites.get(siteId);
    const type = authType ?? site?.lastType;
    return type === undefined ? undefined : site?.served[type];
  }

  /** Requests to one endpoint, in order. */
  requestsTo(endpoint: Endpoint): RecordedRequest[] {
    return this.requests.filter((request) => request.endpoint === endpoint);
  }

  /** Removals that Imperva accepted (res 0). */
  acceptedRemovals(): RecordedRequest[] {
    return this.requestsTo('remove').filter((request) => request.res === 0);
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
      const endpoint =
        endpointOf(url.pathname) === 'certificates' && url.searchParams.get('certType') === 'ATLAS'
          ? 'own-certificates'
          : endpointOf(url.pathname);
      const record: RecordedRequest = {
        method: req.method ?? '',
        path: url.pathname,
        endpoint,
        headers: req.headers,
        query: Object.fromEntries(url.searchParams),
        form,
        rawBody,
        siteId: form.site_id ?? url.searchParams.get('extSiteId') ?? undefined,
        res: undefined,
        at: Date.now(),
      };
      this.requests.push(record);
      const wait = this.takeToken();
      if (wait !== undefined) {
        this.throttled += 1;
        res.writeHead(429, {
          'content-type': 'text/html',
          ...(this.options.rateLimit?.retryAfter === false
            ? {}
            : { 'retry-after': String(Math.max(1, Math.ceil(wait / 1000))) }),
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
          record.status = fault.status ?? 200;
          return send(res, record.status, this.echo(envelope(fault.res), record), fault.headers);
        }
        res.writeHead(fault.status ?? 200, {
          'content-type': fault.contentType ?? 'text/html',
          ...fault.headers,
        });
        res.end(fault.bodyBytes ?? fault.body ?? '');
        return;
      }

      if (endpoint === 'certificates' || endpoint === 'own-certificates' || endpoint === 'api-clients') {
        const reply =
          endpoint === 'certificates'
            ? this.answerV3(record)
            : endpoint === 'api-clients'
              ? this.answerKeyRecord(record)
              : this.answerOwn(record);
        record.status = reply.status;
        if (typeof reply.body === 'string') {
          res.writeHead(reply.status, { 'content-type': 'text/html' });
          res.end(reply.body);
          return;
        }
        return send(res, reply.status, reply.body);
      }
      const answer =
        req.method !== 'POST' || endpoint === 'other'
          ? envelope(1)
          : this.echo(this.answer(endpoint, record), record);
      record.res = Number(answer.res);
      record.status = 200;
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

  private answer(
    endpoint: Exclude<Endpoint, 'certificates' | 'own-certificates' | 'api-clients' | 'other'>,
    request: RecordedRequest,
  ): Record<string, unknown> {
    // Headers, or the legacy api_id/api_key form fields (the seed's curl recipe; incap-cert never sends them).
    const id = header(request.headers, 'x-api-id') ?? request.form.api_id;
    const key = header(request.headers, 'x-api-key') ?? request.form.api_key;
    if (id !== this.options.apiId || key !== this.options.apiKey) return envelope(9411);
    if (this.disabledKey) return envelope(9418);
    if (endpoint === 'verify') return this.verify();
    const site = this.sites.get(request.form.site_id ?? '');
    if (site === undefined) return envelope(9413);
    if (endpoint === 'remove') return remove(site, request.form);
    return endpoint === 'upload'
      ? this.upload(site, request.form)
      : status(site, this.mismatched.has(site.id) ? this.mismatchValue : false, this.own.get(site.id));
  }

  /** `account/verify`: who the key belongs to. */
  private verify(): Record<string, unknown> {
    const account = this.options.account ?? { id: 52219722, name: 'test account', planName: 'ENTERPRISE' };
    return {
      account_type: 'Account',
      account_id: account.id,
      parent_id: 0,
      account_name: account.name,
      plan_id: 'ent100',
      plan_name: account.planName,
      res: 0,
      res_message: 'OK',
      debug_info: { 'id-info': '999999' },
    };
  }

  /**
   * v3 `GET …/certificates[?extSiteId=ID][&certType=CUSTOM_CERT]`: one entry per key type a site holds; without
   * `extSiteId`, every site of the account. Real HTTP statuses and `{"errors":[…]}` on failure.
   */
  private answerV3(request: RecordedRequest): { status: number; body: unknown } {
    if (this.v3 === 'absent') {
      return { status: 404, body: '<html><body><h1>404 Not Found</h1></body></html>' };
    }
    if (request.method !== 'GET') return v3Error(405, 'Method Not Allowed', 'Use GET', request.path);
    const id = header(request.headers, 'x-api-id');
    const key = header(request.headers, 'x-api-key');
    if (id !== this.options.apiId || key !== this.options.apiKey || this.disabledKey) {
      return this.echoV3(
        v3Error(401, 'Unauthorized', 'Authentication missing or invalid', request.path),
        request,
      );
    }
    if (this.v3 !== 'ok') {
      const titles = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' } as const;
      return this.echoV3(
        v3Error(this.v3, titles[this.v3], 'The API key is not allowed to read certificates', request.path),
        request,
      );
    }
    const certType = request.query.certType;
    const extSiteId = request.query.extSiteId;
    let sites: FakeSite[];
    if (extSiteId === undefined) {
      if (this.v3AccountWide !== 'ok') {
        return v3Error(this.v3AccountWide, 'Bad Request', 'extSiteId is required', request.path);
      }
      sites = [...this.sites.values()];
    } else {
      const site = this.sites.get(extSiteId);
      if (site === undefined) {
        return v3Error(404, 'Not Found', `site ${extSiteId} not found in the account`, request.path);
      }
      sites = [site];
    }
    const data: unknown[] = [];
    for (const site of sites) {
      if (certType === undefined || certType === 'CUSTOM_CERT') {
        for (const type of ['RSA', 'ECC'] as const) {
          const served = site.served[type];
          if (served !== undefined)
            data.push(
              v3Custom(
                site,
                served,
                this.v3Format,
                this.v3Legacy,
                this.mismatched.has(site.id) ? this.mismatchValue : false,
              ),
            );
        }
      }
      // Unfiltered, the listing also holds Imperva's own (managed) certificates, without custom details.
      if (certType === undefined || this.v3OwnCertificates) data.push(v3Managed(site));
    }
    return { status: 200, body: { data } };
  }

  /** The v3 checks every call on that host makes: the route, the method, the credentials, the mode. */
  private v3Refusal(request: RecordedRequest): { status: number; body: unknown } | undefined {
    if (this.v3 === 'absent') {
      return { status: 404, body: '<html><body><h1>404 Not Found</h1></body></html>' };
    }
    if (request.method !== 'GET') return v3Error(405, 'Method Not Allowed', 'Use GET', request.path);
    const id = header(request.headers, 'x-api-id');
    const key = header(request.headers, 'x-api-key');
    if (id !== this.options.apiId || key !== this.options.apiKey || this.disabledKey)
      return v3Error(401, 'Unauthorized', 'Authentication missing or invalid', request.path);
    if (this.v3 !== 'ok') {
      const titles = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' } as const;
      return v3Error(this.v3, titles[this.v3], 'The API key may not use this API', request.path);
    }
    return undefined;
  }

  /**
   * v3 `GET /authorization/v3/api-clients?id=ID`: the key's record, with the key (`apiKey`, here recordSecret) in
   * it, as Imperva's API-keys API answers (docs/imperva-api.md, "Other endpoints").
   */
  private answerKeyRecord(request: RecordedRequest): { status: number; body: unknown } {
    const refused = this.v3Refusal(request);
    if (refused !== undefined) return refused;
    if (this.keyRecord !== 'ok') {
      const title = this.keyRecord === 403 ? 'Forbidden' : 'Not Found';
      return v3Error(this.keyRecord, title, 'The API key may not read API clients', request.path);
    }
    return {
      status: 200,
      body: {
        meta: { total: 1, pageNumber: 0, pageSize: 10, maxApiKeyLimit: 5 },
        data: [
          {
            id: Number(this.options.apiId),
            userEmail: 'admin@example.com',
            name: 'incap-cert',
            description: 'certificate uploads',
            apiKey: this.recordSecret,
            enabled: this.keyEnabled,
            expirationDate: this.keyExpiresAt,
            lastActionTime: Date.now() - DAY,
          },
        ],
      },
    };
  }

  /** v3 `GET …/certificates?certType=ATLAS` (no extSiteId): Imperva's own certificate of every site that has one. */
  private answerOwn(request: RecordedRequest): { status: number; body: unknown } {
    const refused = this.v3Refusal(request);
    if (refused !== undefined) return refused;
    if (this.ownListing === 500) return { status: 500, body: 'error' };
    if (this.ownListing !== 'ok')
      return v3Error(this.ownListing, 'Forbidden', 'The API key may not list certificates', request.path);
    const data = [...this.own].flatMap(([siteId, own]) => {
      const site = this.sites.get(siteId);
      if (site === undefined) return [];
      return [
        {
          id: Number(siteId) * 10 + 9,
          name: `ATLAS_${siteId}-1730205519459`,
          status: own.status,
          sans: (own.names ?? ownNames(site)).map((name, index) => ({
            sanId: Number(siteId) * 100 + index,
            sanValue: name,
            validationMethod: 'CNAME',
            status: own.validated === false ? 'PENDING_USER_ACTION' : 'VALIDATED',
            domainIds: [index + 1],
            sitesIds: [Number(siteId)],
          })),
          authType: 'RSA',
          level: 'ACCOUNT',
        },
      ];
    });
    return { status: 200, body: { data } };
  }

  /** In echo mode, a v1 error answer repeats what a careless server might: the key and the start of the private key. */
  private echo(answer: Record<string, unknown>, request: RecordedRequest): Record<string, unknown> {
    if (!this.echoSecrets || Number(answer.res) === 0) return answer;
    const echoed = secretEcho(request);
    return {
      ...answer,
      res_message: `${String(answer.res_message)} (${echoed})`,
      debug_info: { ...(answer.debug_info as Record<string, unknown>), Error: echoed },
    };
  }

  private echoV3(
    reply: { status: number; body: unknown },
    request: RecordedRequest,
  ): { status: number; body: unknown } {
    if (!this.echoSecrets) return reply;
    const errors = (reply.body as { errors: Record<string, unknown>[] }).errors;
    return {
      status: reply.status,
      body: {
        errors: errors.map((error) => ({
          ...error,
          detail: `${String(error.detail)} (${secretEcho(request)})`,
        })),
      },
    };
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
    const previous = site.served[authType];
    const served: Served = {
      authType,
      fingerprint: leaf.fingerprint256.replaceAll(':', '').toLowerCase(),
      inputHash: form.input_hash,
      expirationDate,
      chainLength: chain.length,
      uploadedAt: Date.now(),
      sha1: leaf.fingerprint.replaceAll(':', '').toLowerCase(),
      serial: leaf.serialNumber.toLowerCase(),
      certPem: certificatePem,
      keyPem,
      // The edge walks back to the newest upload that has propagated; three back is plenty for any test.
      previous: keepHistory(previous, 3),
    };
    site.served[authType] = served;
    site.lastType = authType;
    return {
      res: 0,
      res_message: 'OK',
      debug_info: { details: verdict(site, served, leaf, this.coverageFlag), 'id-info': '13008' },
    };
  }
}

/** `served` and at most `depth - 1` uploads before it. */
function keepHistory(served: Served | undefined, depth: number): Served | undefined {
  if (served === undefined || depth <= 0) return undefined;
  return { ...served, previous: keepHistory(served.previous, depth - 1) };
}

function status(site: FakeSite, mismatched: unknown = false, own?: OwnCertificate): Record<string, unknown> {
  const served = site.lastType === undefined ? undefined : site.served[site.lastType];
  const generated =
    own === undefined
      ? {}
      : {
          generated_certificate: {
            ca: 'globalsign',
            validation_method: 'dns',
            validation_data: [],
            san: own.names ?? ownNames(site),
            validation_status:
              own.validated === false || own.status !== 'ACTIVE' ? 'pending_user_action' : 'done',
          },
        };
  return {
    res: 0,
    res_message: 'OK',
    site_id: Number(site.id),
    domain: site.domain,
    ssl:
      served === undefined
        ? generated
        : {
            ...generated,
            custom_certificate: {
              ...verdict(site, served),
              inputHash: served.inputHash,
              ...(mismatched === false ? {} : { hostnameMismatchError: mismatched }),
            },
          },
    dns: siteDns(site),
  };
}

/**
 * The names of Imperva's own certificate for a site, by default: as in Imperva's example (`www.example.com` gets
 * `example.com` and `*.example.com`), each name of the site with its wildcard, and its parent's.
 */
function ownNames(site: FakeSite): string[] {
  const names = new Set<string>();
  for (const name of site.names) {
    const parent = name.split('.').slice(1).join('.');
    names.add(name);
    if (!name.startsWith('*.')) names.add(`*.${name}`);
    if (parent.includes('.')) names.add(parent).add(`*.${parent}`);
  }
  return [...names];
}

/** The records Imperva tells the owner to set: a CNAME to the edge (an apex gets A records, its www the CNAME). */
function siteDns(site: FakeSite): Record<string, unknown>[] {
  const data = (value: string) => (site.dnsStyle === 'list' ? [value] : value);
  if (site.domain.split('.').length > 2) {
    return [{ dns_record_name: site.domain, set_type_to: 'CNAME', set_data_to: data(site.cname) }];
  }
  return [
    { dns_record_name: site.domain, set_type_to: 'A', set_data_to: ['45.60.12.34', '45.60.14.34'] },
    { dns_record_name: `www.${site.domain}`, set_type_to: 'CNAME', set_data_to: data(site.cname) },
  ];
}

/** v1 `sites/customCertificate/remove`: drops the site's custom certificate of that key type. */
function remove(site: FakeSite, form: Record<string, string>): Record<string, unknown> {
  // Without auth_type the behaviour is undocumented; the fake takes the upload's default, RSA.
  const authType = form.auth_type ?? 'RSA';
  if (authType !== 'RSA' && authType !== 'ECC') return envelope(2, 'auth_type must be RSA or ECC');
  if (site.served[authType] === undefined) return envelope(1, `no custom ${authType} certificate`);
  delete site.served[authType];
  if (site.lastType === authType)
    site.lastType = authType === 'RSA' && site.served.ECC ? 'ECC' : site.served.RSA ? 'RSA' : undefined;
  // Imperva's answer to a removal carries res as a string.
  return { res: '0', res_message: 'OK' };
}

function v3Custom(
  site: FakeSite,
  served: Served,
  format: V3Format,
  legacy: boolean | 'bare',
  mismatched: unknown = false,
): Record<string, unknown> {
  const now = Date.now();
  const pairs = (hex: string) =>
    (hex.length % 2 === 0 ? hex : `0${hex}`).toUpperCase().match(/../g)?.join(':') ?? '';
  return {
    id: Number(site.id) * 10 + (served.authType === 'RSA' ? 1 : 2),
    name: `custom-${site.id}-${served.authType}`,
    type: 'CUSTOM_CERT',
    status:
      served.expirationDate <= now
        ? 'EXPIRED'
        : served.expirationDate - now < 30 * DAY
          ? 'NEAR_EXPIRATION'
          : 'ACTIVE',
    authType: served.authType,
    ...(legacy === 'bare' ? {} : { expirationDate: served.expirationDate }),
    extSiteId: Number(site.id),
    siteName: site.domain,
    level: 'SITE',
    sans: [],
    customCertificateDetails: {
      fingerprint:
        legacy !== false ? '' : format === 'openssl' ? `SHA1 Fingerprint=${pairs(served.sha1)}` : served.sha1,
      serialNumber: legacy !== false ? '' : format === 'openssl' ? pairs(served.serial) : served.serial,
      inputHash: legacy === 'bare' ? '' : served.inputHash,
      hasMismatchSite: mismatched,
      hsm: false,
    },
  };
}

/** Imperva's own certificate for a site, as the unfiltered listing shows it: no custom details. */
function v3Managed(site: FakeSite): Record<string, unknown> {
  return {
    id: Number(site.id) * 10 + 9,
    name: `ATLAS_${site.id}-1730205519459`,
    status: 'IN_PROCESS',
    sans: [
      {
        sanId: Number(site.id),
        sanValue: site.domain,
        validationMethod: 'CNAME',
        status: 'VALIDATED',
        domainIds: 2333,
        sitesIds: [Number(site.id)],
      },
    ],
    authType: 'RSA',
    level: 'ACCOUNT',
  };
}

function v3Error(
  status: number,
  title: string,
  detail: string,
  pointer: string,
): { status: number; body: unknown } {
  return {
    status,
    body: {
      errors: [{ status, id: randomBytes(8).toString('hex'), source: { pointer }, title, detail }],
    },
  };
}

/** What a careless server repeats back: the API key sent, and the start of the private key (base64 and PEM). */
function secretEcho(request: RecordedRequest): string {
  const parts: string[] = [];
  const key = header(request.headers, 'x-api-key') ?? request.form.api_key;
  if (key !== undefined) parts.push(`api_key=${key}`);
  const privateKey = request.form.private_key;
  if (privateKey !== undefined && privateKey.length > 0) {
    parts.push(`private_key=${privateKey.slice(0, 48)}`);
    const pemLine = decodeBase64(privateKey)
      ?.split('\n')
      .find((line) => /^[A-Za-z0-9+/=]{16,}$/.test(line));
    if (pemLine !== undefined) parts.push(`key line ${pemLine}`);
  }
  return parts.length === 0 ? 'no credentials received' : parts.join('; ');
}

function endpointOf(pathname: string): Endpoint {
  if (pathname.endsWith('/api/prov/v1/sites/customCertificate/upload')) return 'upload';
  if (pathname.endsWith('/api/prov/v1/sites/customCertificate/remove')) return 'remove';
  if (pathname.endsWith('/api/prov/v1/sites/status')) return 'status';
  if (pathname.endsWith('/api/prov/v1/account/verify')) return 'verify';
  // Imperva's docs say certificates-ui; some clients use the prefix /certificates/v3/.
  if (/\/certificates(?:-ui)?\/v3\/certificates\/?$/.test(pathname)) return 'certificates';
  if (/\/authorization\/v3\/api-clients\/?$/.test(pathname)) return 'api-clients';
  return 'other';
}

function verdict(
  site: FakeSite,
  served: Served,
  leaf?: X509Certificate,
  coverageFlag?: 'coverageError' | 'hostnameMismatchError',
): Record<string, unknown> {
  return {
    active: true,
    expirationDate: served.expirationDate,
    revocationError: false,
    validityError: served.expirationDate < Date.now(),
    chainError: served.chainLength < 2,
    hostnameMismatchError: false,
    ...(coverageFlag === undefined || leaf === undefined
      ? {}
      : { [coverageFlag]: leaf.checkHost(site.domain) === undefined }),
  };
}

/**
 * v3 errors as Imperva sends them on its certificates-ui host (docs/imperva-api.md, "v3 errors"), to inject on the
 * `certificates` endpoint: an `errors` list with HTTP 200 (its own status inside), HTTP 400 titled "Not Found", a
 * plain-text HTTP 500, and a 401 (transient or not: inject it once or for every call).
 */
export function v3Fault(kind: '200' | '400' | '500' | '401'): Fault {
  const error = (status: number, title: string) =>
    JSON.stringify({
      data: [],
      errors: [{ status, id: 'e1', source: { pointer: '/certificates' }, title, detail: title }],
    });
  switch (kind) {
    case '200':
      return { status: 200, contentType: 'application/json', body: error(400, 'Bad Request') };
    case '400':
      return { status: 400, contentType: 'application/json', body: error(400, 'Not Found') };
    case '500':
      return { status: 500, contentType: 'text/plain', body: 'error' };
    case '401':
      return { status: 401, contentType: 'application/json', body: error(401, 'Unauthorized') };
  }
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
