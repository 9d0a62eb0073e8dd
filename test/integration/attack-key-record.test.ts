/**
 * Hostile answers from the API key's own record (`/authorization/v3/api-clients`): whatever it says, `status`,
 * `check` and `sync` end with their documented exit code and one line, never an internal error, and the secret the
 * record carries shows nowhere.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runCli, writeConfig } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { API_ID, createWorld, type World } from '../support/world.js';

const SITE = '1234567';
let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'], keyType: 'ec' });
});
let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

async function delivered(): Promise<{ w: World; live: string }> {
  const w = await createWorld({ sites: { [SITE]: 'example.com' }, map: { 'example.com': Number(SITE) } });
  world = w;
  const config = JSON.parse(readFileSync(w.configFile, 'utf8')) as Record<string, unknown>;
  writeConfig(w.dir, { ...config, ari: false, logFile: join(w.dir, 'incap-cert.log') });
  writeCertbotLineage(join(w.dir, 'le'), 'example.com', leaf);
  const live = join(w.dir, 'le', 'live');
  const first = await runCli(['sync', '--live-dir', live], w.env);
  assert.equal(first.code, 0, first.stderr);
  w.fake.requests.length = 0;
  return { w, live };
}

function record(fields: Record<string, unknown>): string {
  return JSON.stringify({ data: [{ id: Number(API_ID), name: 'incap-cert', ...fields }] });
}

describe("the key's record, answered with a date no clock can hold", () => {
  for (const expirationDate of [1e20, 8.64e15 + 1, '+275760-09-13T00:00:01Z']) {
    for (const command of ['status', 'check', 'sync']) {
      it(`${command}: expirationDate ${String(expirationDate)} is read as no date, not an internal error`, async () => {
        const { w, live } = await delivered();
        w.fake.inject({
          endpoint: 'api-clients',
          times: Infinity,
          fault: {
            status: 200,
            contentType: 'application/json',
            body: record({ enabled: true, expirationDate }),
          },
        });
        const result = await runCli([command, '--live-dir', live, '--json'], w.env);
        assert.doesNotMatch(result.stderr + result.stdout, /internal error|Invalid time value|^\s+at /m);
        // check also judges this host's wiring, which a test world lacks: only its key finding matters here.
        assert.equal(result.code, command === 'check' ? 1 : 0, result.stderr);
        const doc = JSON.parse(result.stdout) as {
          findings?: { kind: string; ok: boolean; message: string }[];
        };
        const key = (doc.findings ?? []).filter((finding) => finding.kind === 'api-key');
        assert.deepEqual(
          key.filter((finding) => !finding.ok),
          [],
        );
      });
    }
  }
});

describe('a custom certificate whose expiry no clock can hold', () => {
  for (const command of ['status', 'check', 'sync', 'verify']) {
    it(`${command}: Imperva's expirationDate 1e20 is read as unknown, not an internal error`, async () => {
      const { w, live } = await delivered();
      const served = w.fake.sites.get(SITE)?.served.ECC;
      assert.ok(served !== undefined);
      served.expirationDate = 1e20;
      const result = await runCli([command, '--live-dir', live, '--json'], w.env);
      assert.doesNotMatch(result.stderr + result.stdout, /internal error|Invalid time value|^\s+at /m);
      assert.ok([0, 1].includes(result.code ?? -1), result.stderr);
      JSON.parse(result.stdout);
    });
  }
  it('remove: the refusal reads the other certificate without a date, not an internal error', async () => {
    const { w } = await delivered();
    const served = w.fake.sites.get(SITE)?.served.ECC;
    assert.ok(served !== undefined);
    served.expirationDate = 1e20;
    const result = await runCli(['remove', '--site-id', SITE, '--auth-type', 'RSA', '--json'], w.env);
    assert.doesNotMatch(result.stderr + result.stdout, /internal error|Invalid time value|^\s+at /m);
    JSON.parse(result.stdout);
  });
});

/** Every file under `dir`, read as text. */
function everyFile(dir: string): string {
  let all = '';
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    if (statSync(path).isFile()) all += readFileSync(path, 'latin1');
  }
  return all;
}

describe("the key's record carrying a secret where nothing expects it", () => {
  const SECRET = 'record-secret-3f9a1c77d2e04b6a';
  const bodies: [string, number, unknown][] = [
    [
      'nested under an unknown name',
      200,
      {
        data: [
          {
            id: Number(API_ID),
            enabled: true,
            expirationDate: Date.now() + 3 * 86_400_000,
            credentials: { apiKeyValue: SECRET, client_secret: SECRET },
          },
        ],
      },
    ],
    [
      'as a disabled key',
      200,
      { data: [{ id: Number(API_ID), enabled: false, apiKey: SECRET, 'api-key': SECRET }] },
    ],
    ['in an error detail', 500, { errors: [{ status: 500, title: SECRET, detail: SECRET, apiKey: SECRET }] }],
    ['in an error inside HTTP 200', 200, { errors: [{ status: 503, detail: `key ${SECRET}` }] }],
    ['as an HTML page', 502, `<html><body>${SECRET}</body></html>`],
  ];
  for (const [what, status, body] of bodies) {
    for (const command of ['status', 'check', 'sync']) {
      it(`${command} -v --json: ${what}: the secret shows nowhere`, async () => {
        const { w, live } = await delivered();
        w.fake.inject({
          endpoint: 'api-clients',
          times: Infinity,
          fault: {
            status,
            contentType: typeof body === 'string' ? 'text/html' : 'application/json',
            body: typeof body === 'string' ? body : JSON.stringify(body),
          },
        });
        const result = await runCli([command, '-v', '--live-dir', live, '--json'], w.env);
        assert.doesNotMatch(result.stderr + result.stdout, /internal error|^\s+at /m);
        JSON.parse(result.stdout);
        assert.ok(!(result.stdout + result.stderr).includes(SECRET), result.stdout + result.stderr);
        assert.ok(!everyFile(w.dir).includes(SECRET), 'in a file of the run');
      });
    }
  }
});

describe("the key's record answered for another key", () => {
  it("one record, of another id: not this key's expiry (not tracked), nor a passing verdict", async () => {
    const { w, live } = await delivered();
    w.fake.inject({
      endpoint: 'api-clients',
      times: Infinity,
      fault: {
        status: 200,
        contentType: 'application/json',
        body: JSON.stringify({
          data: [{ id: Number(API_ID) + 1, enabled: true, expirationDate: Date.now() + 300 * 86_400_000 }],
        }),
      },
    });
    const result = await runCli(['status', '-v', '--live-dir', live, '--json'], w.env);
    assert.equal(result.code, 0, result.stderr);
    const doc = JSON.parse(result.stdout) as { findings: { kind: string; message: string }[] };
    assert.deepEqual(
      doc.findings.filter((finding) => finding.kind === 'api-key'),
      [],
    );
    assert.match(
      readFileSync(join(w.dir, 'incap-cert.log'), 'utf8'),
      new RegExp(`its expiry is not tracked: .*no key with id ${API_ID}`),
    );
  });
});

describe("the timer's run while the key's record does not answer", () => {
  it('the renewal is uploaded first: a hanging api-clients read does not use up the deadline before it', async () => {
    const w = await createWorld({
      sites: { [SITE]: 'example.com' },
      map: { 'example.com': Number(SITE) },
      config: { ari: false, timeoutSeconds: 2, attempts: 4, deadlineSeconds: 8 },
    });
    world = w;
    writeCertbotLineage(join(w.dir, 'le'), 'example.com', leaf);
    w.fake.keyRecord = 'ok';
    w.fake.inject({ endpoint: 'api-clients', times: Infinity, fault: { hang: true } });
    const result = await runCli(['sync', '--live-dir', join(w.dir, 'le', 'live'), '--json'], w.env);
    assert.equal(w.fake.acceptedUploads().length, 1, result.stderr);
    assert.equal(result.code, 0, result.stderr);
  });
});

describe("the key's expiry metric when its record is not read", () => {
  it('a transient failure keeps the last sample; a record the key may not read drops it', async () => {
    const { w, live } = await delivered();
    const config = JSON.parse(readFileSync(w.configFile, 'utf8')) as Record<string, unknown>;
    const metricsFile = join(w.dir, 'incap-cert.prom');
    writeConfig(w.dir, { ...config, metricsFile });
    w.fake.keyRecord = 'ok';
    assert.equal((await runCli(['sync', '--live-dir', live], w.env)).code, 0);
    const sample = /^incap_cert_api_key_expiry_timestamp_seconds \d+$/m;
    assert.match(readFileSync(metricsFile, 'utf8'), sample);

    w.fake.inject({
      endpoint: 'api-clients',
      times: Infinity,
      fault: { status: 502, contentType: 'text/html', body: '<html>bad gateway</html>' },
    });
    const failing = await runCli(['sync', '--live-dir', live], w.env);
    assert.equal(failing.code, 0, failing.stderr);
    assert.match(readFileSync(metricsFile, 'utf8'), sample, 'the last known expiry stays');

    w.fake.clearFaults();
    w.fake.keyRecord = 403;
    assert.equal((await runCli(['sync', '--live-dir', live], w.env)).code, 0);
    assert.doesNotMatch(readFileSync(metricsFile, 'utf8'), sample, 'not tracked: no sample');
  });
});

describe('answers built to break a parser', () => {
  const deep = `{"data":[${'['.repeat(200_000)}${']'.repeat(200_000)}]}`;
  const wide = JSON.stringify({
    data: Array.from({ length: 50_000 }, (_, i) => ({ id: i, apiKey: 'x'.repeat(20) })),
  });
  for (const [what, body] of [
    ['nested 200 000 deep', deep],
    ['50 000 records', wide],
  ] as const) {
    for (const endpoint of ['api-clients', 'own-certificates'] as const) {
      it(`${endpoint}: ${what}: status ends with its exit code and one document`, async () => {
        const { w, live } = await delivered();
        w.fake.keyRecord = 'ok';
        w.fake.inject({
          endpoint,
          times: Infinity,
          fault: { status: 200, contentType: 'application/json', body },
        });
        const result = await runCli(['status', '--live-dir', live, '--json'], w.env);
        assert.doesNotMatch(result.stderr, /internal error|^\s+at /m);
        assert.ok([0, 1].includes(result.code ?? -1), result.stderr);
        JSON.parse(result.stdout);
      });
    }
  }
});

describe("v1's custom_certificate with an expirationDate of null", () => {
  it('is an unknown expiry (as on v3), not a certificate that expired in 1970', async () => {
    const { w, live } = await delivered();
    w.fake.v3 = 'absent';
    const served = w.fake.sites.get(SITE)?.served.ECC;
    assert.ok(served !== undefined);
    served.expirationDate = null as unknown as number;
    const result = await runCli(['status', '--live-dir', live, '--json'], w.env);
    assert.doesNotMatch(result.stdout + result.stderr, /1970/);
    const doc = JSON.parse(result.stdout) as { sites: { state: string; daysLeft: number | null }[] };
    assert.ok(
      doc.sites.every((site) => site.state !== 'expiring' && (site.daysLeft === null || site.daysLeft >= 0)),
      result.stdout,
    );
  });
});
