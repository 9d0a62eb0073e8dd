/**
 * Asks for `http://NAME/.well-known/acme-challenge/TOKEN` the way an ACME server does: through the site's edge on
 * port 80 with the name as Host, no proxy, following at most 10 redirects to http:80 or https:443 with the path
 * unchanged. Imperva's block page is HTML naming an "Incapsula incident ID". Described in docs/canary.md.
 */
import http from 'node:http';
import https from 'node:https';

export type Verdict = 'pass' | 'blocked' | 'redirected' | 'not-found' | 'unreachable';

export interface ProbeResult {
  verdict: Verdict;
  /** One plain sentence: what answered, the incident ID, where a redirect led. */
  detail: string;
  incidentId?: string;
}

/** Where to connect for a name on a port (80 or 443): its site's edge, or undefined to use the name's own address. */
export type EdgeFor = (name: string, port: 80 | 443) => { host: string; port: number } | undefined;

export interface ProbeOptions {
  edgeFor: EdgeFor;
  signal?: AbortSignal | undefined;
  requestMs?: number;
  nameMs?: number;
}

/** Looks like an ACME validation request, so a rule that treats those specially treats this one the same. */
export const USER_AGENT = 'Mozilla/5.0 (compatible; incap-cert renewal-path canary; ACME validation check)';
const MAX_REDIRECTS = 10;
const MAX_BODY = 64 * 1024;

interface Answer {
  status: number;
  location: string | undefined;
  body: string;
}

export async function probe(name: string, token: string, options: ProbeOptions): Promise<ProbeResult> {
  const path = `/.well-known/acme-challenge/${token}`;
  const signals = [AbortSignal.timeout(options.nameMs ?? 30_000)];
  if (options.signal !== undefined) signals.push(options.signal);
  const signal = AbortSignal.any(signals);
  let url = new URL(`http://${name}${path}`);
  for (let hop = 0; ; hop++) {
    let answer: Answer;
    try {
      answer = await get(url, options, signal);
    } catch (error) {
      const why = signal.aborted
        ? 'no answer in time'
        : ((error as NodeJS.ErrnoException).code ?? 'no answer');
      return { verdict: 'unreachable', detail: `${url.href} could not be fetched (${why})` };
    }
    const incident = /incident ID:?\s*([0-9][0-9-]*)/i.exec(answer.body);
    if (/incapsula incident id/i.test(answer.body)) {
      return {
        verdict: 'blocked',
        detail: `Imperva blocked ${url.href} with HTTP ${answer.status}${incident?.[1] === undefined ? '' : ` (incident ID ${incident[1]})`}`,
        ...(incident?.[1] === undefined ? {} : { incidentId: incident[1] }),
      };
    }
    if (answer.status >= 300 && answer.status < 400 && answer.location !== undefined) {
      let next: URL;
      try {
        next = new URL(answer.location, url);
      } catch {
        return {
          verdict: 'redirected',
          detail: `${url.href} redirects to ${answer.location}, which is not a URL`,
        };
      }
      const port = next.port === '' ? (next.protocol === 'https:' ? 443 : 80) : Number(next.port);
      const allowed =
        (next.protocol === 'http:' && port === 80) || (next.protocol === 'https:' && port === 443);
      if (!allowed || next.pathname !== path || hop + 1 > MAX_REDIRECTS) {
        const why = !allowed
          ? 'an ACME server follows only http on 80 and https on 443'
          : next.pathname !== path
            ? 'the path must stay /.well-known/acme-challenge/TOKEN'
            : `more than ${MAX_REDIRECTS} redirects`;
        return { verdict: 'redirected', detail: `${url.href} redirects to ${next.href} (${why})` };
      }
      url = next;
      continue;
    }
    if (answer.status === 200 && answer.body.trim() === token) {
      return { verdict: 'pass', detail: `${url.href} served the token (from this host)` };
    }
    return {
      verdict: 'not-found',
      detail: `${url.href} answered HTTP ${answer.status} without the token: the web root is not what the origin serves`,
    };
  }
}

function get(url: URL, options: ProbeOptions, signal: AbortSignal): Promise<Answer> {
  const secure = url.protocol === 'https:';
  const name = url.hostname;
  const to = options.edgeFor(name, secure ? 443 : 80) ?? { host: name, port: secure ? 443 : 80 };
  const request = {
    host: to.host,
    port: to.port,
    path: url.pathname,
    method: 'GET',
    headers: { host: name, 'user-agent': USER_AGENT, accept: '*/*' },
    agent: false as const,
    timeout: options.requestMs ?? 10_000,
    signal,
  };
  return new Promise((resolve, reject) => {
    // The CA checks no certificate when it follows a redirect to https, so neither does the canary.
    const req = secure
      ? https.request({ ...request, servername: name, rejectUnauthorized: false })
      : http.request(request);
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_BODY) chunks.push(chunk);
        else res.destroy();
      });
      res.on('error', reject);
      res.on('close', () => {
        resolve({
          status: res.statusCode ?? 0,
          location: typeof res.headers.location === 'string' ? res.headers.location : undefined,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    req.end();
  });
}
