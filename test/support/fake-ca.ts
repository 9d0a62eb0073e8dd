/**
 * A fake ACME CA on 127.0.0.1 for ARI (RFC 9773): a directory that names `renewalInfo` (or none), and per
 * certificate identifier the answer of `renewalInfo/<id>`: a window, an error, a Retry-After. It records every
 * request, so a test can assert what was asked and how often.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RenewalAnswer {
  status?: number;
  /** The suggested window; omitted with an error status. */
  window?: { start: Date; end: Date };
  explanationUrl?: string;
  retryAfter?: string;
  /** A body sent as it is instead of the window. */
  raw?: string;
}

export class FakeCa {
  /** Every request's path, in order. */
  readonly requests: string[] = [];
  /** Answers by certificate identifier; an identifier not here gets 404. */
  readonly answers = new Map<string, RenewalAnswer>();
  /** The answer for any identifier not in `answers` (undefined: 404). */
  fallback: RenewalAnswer | undefined;
  /** Whether the directory names renewalInfo. */
  offersAri = true;
  /** A CA that never answers: every request is taken and held open, unanswered, until close(). */
  silent = false;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  get directoryUrl(): string {
    return `${this.url}/directory`;
  }

  static async start(): Promise<FakeCa> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const ca = new FakeCa(server, `http://127.0.0.1:${port}`);
    server.on('request', (req, res) => {
      const path = req.url ?? '/';
      ca.requests.push(path);
      if (ca.silent) return;
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      };
      if (path === '/directory') {
        json(200, {
          newNonce: `${ca.url}/nonce`,
          newAccount: `${ca.url}/account`,
          newOrder: `${ca.url}/order`,
          ...(ca.offersAri ? { renewalInfo: `${ca.url}/renewal-info` } : {}),
        });
        return;
      }
      const match = /^\/renewal-info\/([A-Za-z0-9_.-]+)$/.exec(path);
      const answer = match === null ? undefined : (ca.answers.get(match[1] as string) ?? ca.fallback);
      if (answer === undefined) {
        json(404, { type: 'urn:ietf:params:acme:error:malformed', detail: 'no such certificate' });
        return;
      }
      const headers: Record<string, string> =
        answer.retryAfter === undefined ? {} : { 'retry-after': answer.retryAfter };
      if (answer.raw !== undefined) return json(answer.status ?? 200, answer.raw, headers);
      if (answer.window === undefined) return json(answer.status ?? 500, { detail: 'error' }, headers);
      json(
        answer.status ?? 200,
        {
          suggestedWindow: { start: answer.window.start.toISOString(), end: answer.window.end.toISOString() },
          ...(answer.explanationUrl === undefined ? {} : { explanationURL: answer.explanationUrl }),
        },
        headers,
      );
    });
    return ca;
  }

  /** How many times renewalInfo was asked. */
  get asked(): number {
    return this.requests.filter((path) => path.startsWith('/renewal-info/')).length;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Certbot's renewal configuration for lineage `name` under `configDir`, naming the ACME `server`. */
export function renewalConf(server: string, version = '4.1.1'): string {
  return `version = ${version}\narchive_dir = /unused\n\n[renewalparams]\nauthenticator = webroot\nserver = ${server}\nkey_type = ecdsa\n`;
}
