import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { probe, USER_AGENT } from '../../src/canary/probe.js';

const TOKEN = 'A'.repeat(43);
const PATH = `/.well-known/acme-challenge/${TOKEN}`;
const seen: { host: string | undefined; ua: string | undefined; url: string | undefined }[] = [];

const server = http.createServer((req, res) => {
  seen.push({ host: req.headers.host, ua: req.headers['user-agent'], url: req.url });
  const host = req.headers.host ?? '';
  if (host === 'pass.example') return res.end(TOKEN);
  if (host === 'blocked.example') {
    res.statusCode = 403;
    return res.end('<html>Request unsuccessful. Incapsula incident ID: 1234000560078-9012345</html>');
  }
  if (host === 'hop.example') {
    res.writeHead(301, { location: `http://pass.example${PATH}` });
    return res.end();
  }
  if (host === 'port.example') {
    res.writeHead(302, { location: `http://pass.example:8080${PATH}` });
    return res.end();
  }
  if (host === 'path.example') {
    res.writeHead(302, { location: 'http://pass.example/' });
    return res.end();
  }
  if (host === 'loop.example') {
    res.writeHead(302, { location: PATH });
    return res.end();
  }
  if (host === 'drop.example') return req.socket.destroy();
  res.statusCode = 404;
  return res.end('nope');
});
let port = 0;
const edgeFor = () => ({ host: '127.0.0.1', port });

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

describe('canary probe', () => {
  it('passes when the body is the token, sending the name as Host and a validation-like agent', async () => {
    seen.length = 0;
    const result = await probe('pass.example', TOKEN, { edgeFor });
    assert.equal(result.verdict, 'pass');
    assert.match(result.detail, /from this host/);
    assert.deepEqual(seen, [{ host: 'pass.example', ua: USER_AGENT, url: PATH }]);
  });
  it("quotes the incident ID of Imperva's block page", async () => {
    const result = await probe('blocked.example', TOKEN, { edgeFor });
    assert.equal(result.verdict, 'blocked');
    assert.equal(result.incidentId, '1234000560078-9012345');
  });
  it('follows a redirect an ACME server follows, and refuses the others', async () => {
    assert.equal((await probe('hop.example', TOKEN, { edgeFor })).verdict, 'pass');
    seen.length = 0;
    const port8080 = await probe('port.example', TOKEN, { edgeFor });
    assert.equal(port8080.verdict, 'redirected');
    assert.match(port8080.detail, /pass\.example:8080/);
    assert.equal(seen.length, 1, 'the refused redirect is not requested');
    assert.equal((await probe('path.example', TOKEN, { edgeFor })).verdict, 'redirected');
    const loop = await probe('loop.example', TOKEN, { edgeFor });
    assert.equal(loop.verdict, 'redirected');
    assert.match(loop.detail, /more than 10 redirects/);
  });
  it('tells a dropped connection from a page without the token', async () => {
    assert.equal((await probe('drop.example', TOKEN, { edgeFor })).verdict, 'unreachable');
    assert.equal((await probe('other.example', TOKEN, { edgeFor })).verdict, 'not-found');
  });
});
