/**
 * The edge probe against the fake edge: what a TLS client offering only RSA or only ECDSA signature algorithms gets
 * for a site holding both key types, during and after propagation, with Imperva's own certificates, and with nothing
 * listening. Everything on 127.0.0.1; names resolve through an injected lookup.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { judgeEdge } from '../../src/edge/judge.js';
import { isProbeFailure, probeEdge, type ProbeResult } from '../../src/edge/probe.js';
import { edgeTarget, parseEdgeAddress } from '../../src/edge/target.js';
import { FakeEdge, loopbackLookup } from '../support/fake-edge.js';
import { FakeImperva, type AuthType } from '../support/fake-imperva.js';
import { newApiKey } from '../support/harness.js';
import { createPki, issueLeaf, type Leaf, type Pki } from '../support/pki.js';

const API_ID = '4242';
const apiKey = newApiKey();
const SITE = '1234567';
const WILD = '7654321';
const DAY = 86_400_000;

let pki: Pki;
let rsa: Leaf;
let ecc: Leaf;
let wild: Leaf;
let fake: FakeImperva;
let edge: FakeEdge;

before(async () => {
  pki = await createPki();
  [rsa, ecc, wild] = await Promise.all([
    issueLeaf(pki, { names: ['www.example.com', 'example.com'], keyType: 'rsa' }),
    issueLeaf(pki, { names: ['www.example.com', 'example.com'], keyType: 'ec' }),
    issueLeaf(pki, { names: ['*.example.org', 'example.org'], keyType: 'ec' }),
  ]);
  fake = await FakeImperva.start({
    apiId: API_ID,
    apiKey,
    sites: { [SITE]: 'www.example.com', [WILD]: 'example.org' },
    names: { [SITE]: ['example.com'], [WILD]: ['*.example.org'] },
  });
  edge = await FakeEdge.start({ imperva: fake });
});

after(async () => {
  await edge.close();
  await fake.close();
});

beforeEach(() => {
  for (const site of fake.sites.values()) site.served = {};
  edge.propagationMs = 0;
  edge.stall = false;
  edge.ownFor.clear();
});

async function upload(siteId: string, leaf: Leaf, authType: AuthType): Promise<void> {
  const response = await fetch(`${fake.url}/api/prov/v1/sites/customCertificate/upload`, {
    method: 'POST',
    headers: { 'x-API-Id': API_ID, 'x-API-Key': apiKey, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      site_id: siteId,
      certificate: Buffer.from(leaf.fullchainPem).toString('base64'),
      private_key: Buffer.from(leaf.keyPem).toString('base64'),
      auth_type: authType,
      input_hash: leaf.fingerprint,
    }),
  });
  const body = (await response.json()) as { res: number };
  assert.equal(body.res, 0, `upload of ${authType} to ${siteId}`);
}

function probe(servername: string, keyType: AuthType, port = edge.port): Promise<ProbeResult> {
  return probeEdge({ host: '127.0.0.1', port, servername, keyType, timeoutMs: 10_000 });
}

function certificate(result: ProbeResult) {
  assert.ok(!isProbeFailure(result), `expected a certificate, got ${JSON.stringify(result)}`);
  return result;
}

describe('probeEdge against the fake edge', () => {
  it('served: each key type gets its own custom certificate from a site holding both', async () => {
    await upload(SITE, rsa, 'RSA');
    await upload(SITE, ecc, 'ECC');
    for (const [keyType, leaf] of [
      ['RSA', rsa],
      ['ECC', ecc],
    ] as const) {
      const served = certificate(await probe('www.example.com', keyType));
      assert.equal(served.leafSha256, leaf.fingerprint, keyType);
      assert.equal(served.keyType, keyType);
      assert.deepEqual(served.names, ['www.example.com', 'example.com']);
      assert.equal(served.notAfter.getTime(), leaf.notAfter.getTime());
      assert.ok(served.notBefore.getTime() < served.notAfter.getTime());
      const verdict = judgeEdge({ name: 'www.example.com', local: leaf, probe: served });
      assert.equal(verdict.state, 'served', verdict.detail);
    }
    // The other name of the site, too; and the edge saw the SNI we sent.
    assert.equal(certificate(await probe('example.com', 'ECC')).leafSha256, ecc.fingerprint);
    const last = edge.hellos.at(-1);
    assert.equal(last?.servername, 'example.com');
    assert.equal(last?.siteId, SITE);
  });

  it("an RSA client of a site holding only ECC gets Imperva's own RSA certificate: stale", async () => {
    await upload(SITE, ecc, 'ECC');
    const served = certificate(await probe('www.example.com', 'RSA'));
    assert.equal(served.keyType, 'RSA');
    assert.equal(served.leafSha256, (await edge.ownCertificate(SITE, 'RSA')).fingerprint);
    const verdict = judgeEdge({ name: 'www.example.com', local: rsa, probe: served });
    assert.equal(verdict.state, 'stale', verdict.detail);
  });

  it("stale during propagation (Imperva's own, then the previous upload), served once propagated", async () => {
    edge.propagationMs = 3_600_000;
    await upload(SITE, ecc, 'ECC');
    let served = certificate(await probe('www.example.com', 'ECC'));
    assert.equal(served.leafSha256, (await edge.ownCertificate(SITE, 'ECC')).fingerprint);
    assert.equal(judgeEdge({ name: 'www.example.com', local: ecc, probe: served }).state, 'stale');

    // The first upload is long propagated; a renewal is not yet: the edge serves the first one.
    const first = fake.sites.get(SITE)?.served.ECC;
    assert.ok(first !== undefined);
    first.uploadedAt -= 2 * 3_600_000;
    const renewed = await issueLeaf(pki, {
      names: ['www.example.com', 'example.com'],
      keyType: 'ec',
      notAfter: new Date(ecc.notAfter.getTime() + 30 * DAY),
    });
    await upload(SITE, renewed, 'ECC');
    served = certificate(await probe('www.example.com', 'ECC'));
    assert.equal(served.leafSha256, ecc.fingerprint);
    const verdict = judgeEdge({ name: 'www.example.com', local: renewed, probe: served });
    assert.equal(verdict.state, 'stale', verdict.detail);
    assert.match(verdict.detail, /older certificate/);

    edge.propagationMs = 0;
    served = certificate(await probe('www.example.com', 'ECC'));
    assert.equal(served.leafSha256, renewed.fingerprint);
    assert.equal(judgeEdge({ name: 'www.example.com', local: renewed, probe: served }).state, 'served');
  });

  it("wrong: Imperva's generic certificate, whose names do not cover the site", async () => {
    edge.ownFor.set(SITE, 'generic');
    const served = certificate(await probe('www.example.com', 'RSA'));
    assert.deepEqual(served.names, ['*.incapsula.test', 'incapsula.test']);
    const verdict = judgeEdge({ name: 'www.example.com', local: rsa, probe: served });
    assert.equal(verdict.state, 'wrong', verdict.detail);
    assert.match(verdict.detail, /does not cover www\.example\.com/);
  });

  it('wrong: a later certificate for the names that is not ours', async () => {
    const theirs = await issueLeaf(pki, {
      names: ['www.example.com'],
      keyType: 'rsa',
      notAfter: new Date(rsa.notAfter.getTime() + 200 * DAY),
    });
    await upload(SITE, theirs, 'RSA');
    const served = certificate(await probe('www.example.com', 'RSA'));
    assert.equal(served.leafSha256, theirs.fingerprint);
    const verdict = judgeEdge({ name: 'www.example.com', local: rsa, probe: served });
    assert.equal(verdict.state, 'wrong', verdict.detail);
  });

  it('a name of no site gets the generic certificate', async () => {
    const served = certificate(await probe('unknown.example.net', 'ECC'));
    assert.deepEqual(served.names, ['*.incapsula.test', 'incapsula.test']);
    assert.equal(served.keyType, 'ECC');
  });

  it('unreachable: nothing listens on the port', async () => {
    const port = await closedPort();
    for (const keyType of ['RSA', 'ECC'] as const) {
      const result = await probe('www.example.com', keyType, port);
      assert.ok(isProbeFailure(result));
      assert.equal(result.error, `connection refused by 127.0.0.1:${port}`);
      const verdict = judgeEdge({ name: 'www.example.com', local: rsa, probe: result });
      assert.deepEqual(verdict, { state: 'unreachable', detail: result.error });
    }
  });

  it('unreachable: an edge that never finishes the handshake times out', async () => {
    edge.stall = true;
    const result = await probeEdge({
      host: '127.0.0.1',
      port: edge.port,
      servername: 'www.example.com',
      keyType: 'ECC',
      timeoutMs: 300,
    });
    assert.ok(isProbeFailure(result));
    assert.match(
      result.error,
      /^no TLS handshake with 127\.0\.0\.1:\d+ \(SNI www\.example\.com\) within 300 ms$/,
    );
  });

  it('resolves names through the injected lookup only', async () => {
    await upload(SITE, ecc, 'ECC');
    const lookup = loopbackLookup(['edge.example.test']);
    const served = await probeEdge({
      host: 'edge.example.test',
      port: edge.port,
      servername: 'www.example.com',
      keyType: 'ECC',
      timeoutMs: 10_000,
      lookup,
    });
    assert.equal(certificate(served).leafSha256, ecc.fingerprint);
    const missing = await probeEdge({
      host: 'nowhere.example.test',
      port: edge.port,
      servername: 'www.example.com',
      keyType: 'ECC',
      timeoutMs: 10_000,
      lookup,
    });
    assert.ok(isProbeFailure(missing));
    assert.equal(missing.error, 'cannot resolve nowhere.example.test (ENOTFOUND)');
    assert.deepEqual(lookup.calls, ['edge.example.test', 'nowhere.example.test']);
  });

  it('a lookup that throws is a failed probe, not a crash', async () => {
    const result = await probeEdge({
      host: 'edge.example.test',
      port: edge.port,
      servername: 'www.example.com',
      keyType: 'RSA',
      timeoutMs: 10_000,
      lookup: () => {
        throw new Error('resolver exploded');
      },
    });
    assert.ok(isProbeFailure(result));
    assert.match(result.error, /cannot resolve edge\.example\.test/);
  });

  it('refuses a wildcard SNI without connecting', async () => {
    const before = edge.hellos.length;
    const result = await probe('*.example.org', 'ECC');
    assert.ok(isProbeFailure(result));
    assert.match(result.error, /is not a host name/);
    assert.equal(edge.hellos.length, before);
  });

  it("a wildcard site: SNI is the site's domain (edgeTarget), judged against the wildcard", async () => {
    await upload(WILD, wild, 'ECC');
    const target = edgeTarget({
      name: '*.example.org',
      domain: fake.sites.get(WILD)?.domain,
      edgeAddress: parseEdgeAddress(edge.address),
    });
    assert.ok(!('error' in target));
    assert.deepEqual(target, {
      host: '127.0.0.1',
      port: edge.port,
      servername: 'example.org',
      via: 'edgeAddress',
    });
    const served = certificate(await probeEdge({ ...target, keyType: 'ECC', timeoutMs: 10_000 }));
    assert.equal(judgeEdge({ name: '*.example.org', local: wild, probe: served }).state, 'served');
    // Any name under the wildcard reaches the same site.
    assert.equal(certificate(await probe('shop.example.org', 'ECC')).leafSha256, wild.fingerprint);
    // The RSA side still has Imperva's own certificate for the site's names: stale for an RSA lineage.
    const own = certificate(await probe('example.org', 'RSA'));
    assert.ok(own.names.includes('*.example.org'));
    const local = await issueLeaf(pki, { names: ['*.example.org'], keyType: 'rsa' });
    assert.equal(judgeEdge({ name: '*.example.org', local, probe: own }).state, 'stale');
  });

  it('after a removal the edge falls back to Imperva’s own certificate for that key type only', async () => {
    await upload(SITE, rsa, 'RSA');
    await upload(SITE, ecc, 'ECC');
    const response = await fetch(`${fake.url}/api/prov/v1/sites/customCertificate/remove`, {
      method: 'POST',
      headers: {
        'x-API-Id': API_ID,
        'x-API-Key': apiKey,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ site_id: SITE, auth_type: 'RSA' }),
    });
    assert.deepEqual(await response.json(), { res: '0', res_message: 'OK' });
    assert.equal(
      certificate(await probe('www.example.com', 'RSA')).leafSha256,
      (await edge.ownCertificate(SITE, 'RSA')).fingerprint,
    );
    assert.equal(certificate(await probe('www.example.com', 'ECC')).leafSha256, ecc.fingerprint);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
