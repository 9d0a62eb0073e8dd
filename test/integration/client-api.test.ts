/**
 * The client's calls and its run-wide behaviour, in process against a small recording server on 127.0.0.1 (the v3
 * certificates API, remove, account/verify and `dns` are answered here as docs/imperva-api.md describes them):
 * what is sent, what comes back, what is not retried, credentials failing fast, interruption, and names that do
 * not resolve.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCertificate } from '../../src/certificate/bundle.js';
import type { CertificateBundle } from '../../src/model/certificate.js';
import { ApiError } from '../../src/model/errors.js';
import { createImpervaClient, type ClientOptions } from '../../src/imperva/client.js';
import {
  ClientError,
  NetworkError,
  clientErrorCode,
  isCredentialsError,
  isV3Unavailable,
} from '../../src/imperva/errors.js';
import { tempDir } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage } from '../support/pki.js';

interface Seen {
  method: string;
  path: string;
  query: Record<string, string>;
  form: Record<string, string>;
  apiKey: string | undefined;
}
type Handler = (seen: Seen, res: ServerResponse) => void;

let server: Server;
let base: string;
const seen: Seen[] = [];
let handler: Handler = (_seen, res) => json(res, 200, { res: 0 });

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

let bundle: CertificateBundle;
before(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const entry: Seen = {
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        form: Object.fromEntries(new URLSearchParams(body)),
        apiKey: req.headers['x-api-key'] as string | undefined,
      };
      seen.push(entry);
      handler(entry, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
  const lineage = writeCertbotLineage(join(tempDir(), 'le'), 'example.com', leaf);
  bundle = readCertificate({ cert: join(lineage, 'fullchain.pem'), key: join(lineage, 'privkey.pem') });
});
after(() => server.close());

function client(options: Partial<ClientOptions> = {}) {
  seen.length = 0;
  return createImpervaClient(
    { id: '12345', key: 'key-secret', baseUrl: base },
    {
      timeoutMs: 5000,
      concurrency: 4,
      deadlineAt: Date.now() + 30_000,
      attempts: 3,
      retryDelayMs: 10,
      v3BaseUrl: `${base}/v3host`,
      ...options,
    },
  );
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ApiError, String(error));
    return error;
  }
  assert.fail('expected an ApiError');
}

describe('v3 certificates', () => {
  const listing = {
    data: [
      {
        type: 'CUSTOM_CERT',
        status: 'ACTIVE',
        authType: 'RSA',
        expirationDate: 1803562533000,
        extSiteId: 123,
        customCertificateDetails: {
          fingerprint: 'SHA1 Fingerprint=AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD',
          serialNumber: '0A:1B',
          inputHash: 'h1',
        },
      },
      { type: 'CUSTOM_CERT', status: 'ACTIVE', authType: 'ECC', expirationDate: 1, extSiteId: 456 },
    ],
  };

  it('asks for one site with the headers, and reads its entries', async () => {
    handler = (_seen, res) => json(res, 200, listing);
    const entries = await (await client()).certificates('123');
    assert.deepEqual(seen, [
      {
        method: 'GET',
        path: '/v3host/certificates-ui/v3/certificates',
        query: { certType: 'CUSTOM_CERT', extSiteId: '123' },
        form: {},
        apiKey: 'key-secret',
      },
    ]);
    assert.deepEqual(
      entries.map((entry) => [
        entry.siteId,
        entry.keyType,
        entry.fingerprintSha1,
        entry.serial,
        entry.inputHash,
      ]),
      [['123', 'RSA', 'aabbccddeeff00112233445566778899aabbccdd', 'a1b', 'h1']],
    );
  });

  it('lists the whole account without a site', async () => {
    handler = (_seen, res) => json(res, 200, listing);
    const entries = await (await client()).certificates();
    assert.deepEqual(seen[0]?.query, { certType: 'CUSTOM_CERT' });
    assert.deepEqual(
      entries.map((entry) => entry.siteId),
      ['123', '456'],
    );
  });

  for (const status of [403, 404]) {
    it(`HTTP ${status}: V3_UNAVAILABLE at once, not retried`, async () => {
      handler = (_seen, res) => json(res, status, { errors: [{ status, id: 'x', title: 'Forbidden' }] });
      const error = await failure((await client()).certificates('123'));
      assert.ok(isV3Unavailable(error));
      assert.equal(seen.length, 1);
    });
  }

  it('failing for good (5xx after every attempt): V3_UNAVAILABLE, so that v1 is tried', async () => {
    handler = (_seen, res) => json(res, 503, { errors: [{ status: 503 }] });
    const error = await failure((await client()).certificates('123'));
    assert.ok(isV3Unavailable(error));
    assert.equal(seen.length, 3);
    assert.equal(error.attempts, 3);
    assert.equal(error.status, 503);
  });

  it('not configured: V3_UNAVAILABLE without a request', async () => {
    const error = await failure((await client({ v3BaseUrl: undefined })).certificates('123'));
    assert.ok(isV3Unavailable(error));
    assert.equal(seen.length, 0);
    assert.equal(error.attempts, 0);
  });

  it('HTTP 401: retried once (a propagation race), then v1 account/verify decides: it works, so v3 is unavailable and the uploads still go', async () => {
    handler = (one, res) =>
      one.path.includes('/v3/')
        ? json(res, 401, { errors: [{ status: 401, title: 'Unauthorized' }] })
        : json(res, 200, { res: 0, res_message: 'OK' });
    const api = await client();
    const error = await failure(api.certificates('123'));
    assert.equal(clientErrorCode(error), 'V3_UNAVAILABLE');
    await api.upload('123', bundle);
    // Nothing more goes to v3 in this run.
    assert.ok(isV3Unavailable(await failure(api.certificates())));
    assert.deepEqual(
      seen.map((one) => one.path.replace(/^.*\/v[13]\//, '')),
      ['certificates', 'certificates', 'account/verify', 'sites/customCertificate/upload'],
    );
  });

  it('HTTP 401 twice and v1 refuses the key too: the credentials, and nothing more is sent', async () => {
    handler = (one, res) =>
      one.path.includes('/v3/')
        ? json(res, 401, { errors: [{ status: 401, title: 'Unauthorized' }] })
        : json(res, 200, { res: 9418, res_message: 'Disabled API Key' });
    const api = await client();
    assert.equal(clientErrorCode(await failure(api.certificates('123'))), 'CREDENTIALS');
    const later = await failure(api.upload('123', bundle));
    assert.deepEqual([later.code, later.attempts], ['CREDENTIALS', 0]);
    assert.equal(seen.length, 3);
  });

  it('HTTP 401 once: the retry reads the listing', async () => {
    let calls = 0;
    handler = (_seen, res) =>
      ++calls === 1
        ? json(res, 401, { errors: [{ status: 401, title: 'Unauthorized' }] })
        : json(res, 200, { data: [] });
    assert.deepEqual(await (await client()).certificates('123'), []);
    assert.equal(seen.length, 2);
  });
});

describe('v1 calls', () => {
  it('remove: site_id and auth_type, in the form', async () => {
    handler = (_seen, res) => json(res, 200, { res: '0', res_message: 'OK' });
    const result = await (await client()).remove('123', 'ECC');
    assert.equal(result.resMessage, 'OK');
    assert.deepEqual(
      seen.map((s) => [s.method, s.path, s.form]),
      [['POST', '/api/prov/v1/sites/customCertificate/remove', { site_id: '123', auth_type: 'ECC' }]],
    );
  });

  it('verifyAccount: the account and the plan', async () => {
    handler = (_seen, res) =>
      json(res, 200, { res: 0, account_id: 42, account_name: 'Example Ltd', plan_id: 'x', plan_name: 'Pro' });
    assert.deepEqual(await (await client()).verifyAccount(), {
      accountId: '42',
      accountName: 'Example Ltd',
      planName: 'Pro',
    });
    assert.deepEqual(
      seen.map((s) => [s.method, s.path]),
      [['POST', '/api/prov/v1/account/verify']],
    );
  });

  it('status: the domain and the DNS records, set_data_to as a string or a list', async () => {
    handler = (_seen, res) =>
      json(res, 200, {
        res: 0,
        domain: 'www.example.com',
        ssl: { custom_certificate: { active: true, expirationDate: 5, inputHash: 'h' } },
        dns: [
          { dns_record_name: 'www.example.com', set_type_to: 'CNAME', set_data_to: ['x.incapdns.net'] },
          { dns_record_name: 'example.com', set_type_to: 'A', set_data_to: '192.0.2.1' },
        ],
      });
    const status = await (await client()).status('123');
    assert.equal(status.domain, 'www.example.com');
    assert.equal(status.custom?.inputHash, 'h');
    assert.deepEqual(status.dns, [
      { name: 'www.example.com', type: 'CNAME', targets: ['x.incapdns.net'] },
      { name: 'example.com', type: 'A', targets: ['192.0.2.1'] },
    ]);
    assert.deepEqual(seen[0]?.form, { site_id: '123' });
  });

  for (const res of [9411, 9403, 9418]) {
    it(`res ${res}: CREDENTIALS, and every later call fails at once without sending`, async () => {
      handler = (_seen, response) => json(response, 200, { res, res_message: 'no' });
      const api = await client({ concurrency: 1 });
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, index) => api.upload(String(1000 + index), bundle)),
      );
      assert.equal(seen.length, 1, 'one request for twenty sites');
      for (const result of results) {
        assert.equal(result.status, 'rejected');
        assert.ok(isCredentialsError(result.reason));
      }
      const [first, second] = results.map((r) =>
        r.status === 'rejected' ? (r.reason as ApiError) : undefined,
      );
      assert.equal(first?.res, res);
      assert.equal(first?.attempts, 1);
      assert.match(second?.message ?? '', /^not tried: Imperva refused the credentials earlier in this run/);
      assert.equal(second?.attempts, 0);
      assert.equal((await failure(api.verifyAccount())).code, 'CREDENTIALS');
      assert.equal(seen.length, 1);
    });
  }
});

describe('the error of a call counts its tries', () => {
  it('a lasting failure after a retried one: the last answer, after 2 attempts', async () => {
    let calls = 0;
    handler = (_seen, res) => (++calls === 1 ? json(res, 503, {}) : json(res, 200, { res: 9413 }));
    const error = await failure((await client()).upload('123', bundle));
    assert.ok(!(error instanceof ClientError));
    assert.deepEqual([error.res, error.transient, error.attempts], [9413, false, 2]);
  });

  it('transient to the end: every attempt counted', async () => {
    handler = (_seen, res) => json(res, 502, {});
    const error = await failure((await client()).status('123'));
    assert.deepEqual([error.status, error.transient, error.attempts, seen.length], [502, true, 3, 3]);
  });

  it('a deadline after answers that were only 429: DEADLINE, unanswered', async () => {
    handler = (_seen, res) => {
      res.writeHead(429, { 'retry-after': '3600' });
      res.end();
    };
    const error = await failure((await client({ deadlineAt: Date.now() + 2000 })).upload('123', bundle));
    assert.ok(error instanceof ClientError);
    assert.deepEqual([error.code, error.unanswered, error.attempts], ['DEADLINE', true, 1]);
    assert.match(error.message, /no retry: the run's deadline would pass first$/);
  });

  it('a deadline after Imperva answered: DEADLINE, not unanswered', async () => {
    handler = (_seen, res) => json(res, 503, {});
    const api = await client({ deadlineAt: Date.now() + 2000, retryDelayMs: 60_000 });
    const error = await failure(api.upload('123', bundle));
    assert.ok(error instanceof ClientError);
    assert.deepEqual(
      [error.code, error.unanswered, error.attempts, error.status],
      ['DEADLINE', false, 1, 503],
    );
  });
});

describe('interruption', () => {
  it('abandons the request in flight and every waiting one at once, as transient INTERRUPTED', async () => {
    const controller = new AbortController();
    handler = () => {}; // never answers
    const api = await client({ concurrency: 1, signal: controller.signal });
    const calls = [api.upload('1', bundle), api.upload('2', bundle), api.status('3')];
    while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    const errors = await Promise.all(calls.map((call) => failure(call)));
    for (const error of errors) {
      assert.equal(error.code, 'INTERRUPTED');
      assert.equal(error.message, 'interrupted');
      assert.equal(error.transient, true);
    }
    assert.equal(seen.length, 1);
    assert.equal((await failure(api.status('4'))).code, 'INTERRUPTED', 'and nothing starts after');
  });

  it('ends a retry wait at once', async () => {
    const controller = new AbortController();
    handler = (_seen, res) => {
      res.writeHead(429, { 'retry-after': '3600' });
      res.end();
    };
    const api = await client({ signal: controller.signal, deadlineAt: Date.now() + 7_200_000 });
    const call = api.upload('1', bundle);
    while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    assert.equal((await failure(call)).code, 'INTERRUPTED');
  });
});

describe('a name that does not resolve', () => {
  it('is retried once at most, and the message names the host', async () => {
    let lookups = 0;
    const api = await createImpervaClient(
      { id: '1', key: 'k', baseUrl: 'http://my.imperva.test' },
      {
        timeoutMs: 5000,
        concurrency: 2,
        deadlineAt: Date.now() + 30_000,
        attempts: 4,
        retryDelayMs: 10,
        lookup: (hostname, _options, callback) => {
          lookups += 1;
          const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
            code: 'ENOTFOUND',
            hostname,
          });
          (callback as (error: Error) => void)(error);
        },
      },
    );
    const error = await failure(api.status('1'));
    assert.ok(error instanceof NetworkError, 'still a NetworkError, counted');
    assert.equal(error.message, 'cannot reach my.imperva.test (ENOTFOUND)');
    assert.equal(error.attempts, 2);
    assert.equal(lookups, 2);
  });
});
