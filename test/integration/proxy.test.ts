/**
 * Proxies: HTTPS_PROXY / HTTP_PROXY / NO_PROXY (and lower case) as proxy-from-env reads them, through a small
 * recording proxy on 127.0.0.1. Every other test runs the CLI with these variables cleared (test/support/harness.ts).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf } from '../support/pki.js';
import { RecordingProxy } from '../support/recording-proxy.js';
import { assertNoSecrets, createWorld, secretsOf, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com'] });
});
let world: World | undefined;
let proxy: RecordingProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
  await world?.close();
});
after(() => world?.close());

async function setup() {
  world = await createWorld({ map: { 'example.com': 1234567 } });
  proxy = await RecordingProxy.start();
  const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
  return { w: world, p: proxy, lineage };
}

describe('proxies', () => {
  for (const variable of ['HTTP_PROXY', 'http_proxy']) {
    it(`${variable}: every request goes through it, and the upload arrives`, async () => {
      const { w, p, lineage } = await setup();
      const result = await runCli(['push', '--lineage', lineage], {
        ...w.env,
        [variable]: `http://proxyuser:proxypass@127.0.0.1:${p.port}`,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(w.fake.serving('1234567')?.fingerprint, leaf.fingerprint);
      // hpagent tunnels (CONNECT) to the API's host:port, with the proxy's own credentials; the fake saw the upload.
      const api = new URL(w.fake.url);
      assert.ok(p.passed.length >= 1);
      for (const one of p.passed) {
        assert.deepEqual(
          [one.method, one.target, one.authorized],
          ['CONNECT', `${api.hostname}:${api.port}`, true],
        );
      }
      assert.deepEqual(
        w.fake.requests.map((request) => request.endpoint),
        ['upload'],
      );
    });
  }

  for (const noProxy of ['127.0.0.1', '*', `127.0.0.1:${0}`.replace(':0', '')]) {
    it(`NO_PROXY=${noProxy}: nothing goes through the proxy`, async () => {
      const { w, p, lineage } = await setup();
      const result = await runCli(['push', '--lineage', lineage], {
        ...w.env,
        HTTP_PROXY: `http://127.0.0.1:${p.port}`,
        NO_PROXY: noProxy,
      });
      assert.equal(result.code, 0, result.stderr);
      assert.equal(p.passed.length, 0);
      assert.equal(w.fake.acceptedUploads().length, 1);
    });
  }

  it('a proxy that does not answer: the error names it without its credentials', async () => {
    const { w, p, lineage } = await setup();
    const port = p.port;
    await p.close();
    proxy = undefined;
    const result = await runCli(['push', '--lineage', lineage], {
      ...w.env,
      HTTP_PROXY: `http://proxyuser:s3cretproxypass@127.0.0.1:${port}`,
    });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(`through the proxy http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`),
    );
    assert.doesNotMatch(`${result.stdout}${result.stderr}`, /proxyuser|s3cretproxypass/);
    assertNoSecrets({ stdout: result.stdout, stderr: result.stderr }, secretsOf(w.apiKey, leaf));
  });

  it("a proxy's 407: named as the proxy refusing authentication, without its credentials, not retried, exit 1", async () => {
    const { w, p, lineage } = await setup();
    p.refuseAuthentication = true;
    const result = await runCli(['push', '--lineage', lineage], {
      ...w.env,
      HTTPS_PROXY: `http://proxyuser:s3cretproxypass@127.0.0.1:${p.port}`,
      HTTP_PROXY: `http://proxyuser:s3cretproxypass@127.0.0.1:${p.port}`,
    });
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(
        `^error: site 1234567 \\(example\\.com\\): upload failed: the proxy http://127\\.0\\.0\\.1:${p.port} refused authentication \\(HTTP 407\\)`,
        'm',
      ),
    );
    assert.doesNotMatch(`${result.stdout}${result.stderr}`, /proxyuser|s3cretproxypass/);
    // One try: a retry cannot mend the proxy's credentials; nothing reached Imperva.
    assert.equal(p.passed.length, 1);
    assert.equal(w.fake.requests.length, 0);
  });
});
