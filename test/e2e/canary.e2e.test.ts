/**
 * End to end: the renewal-path canary with a real Certbot (Debian's, `certonly --webroot` against pebble, so the
 * renewal configuration is the one Certbot writes) and a real web server (Debian's lighttpd, serving the web root on
 * 127.0.0.1 from its own config file, in the foreground) behind the fake edge's http side, which passes requests
 * through to lighttpd, answers Imperva's block page, redirects or drops the connection. Each verdict through the
 * built CLI; a run stopped half way leaves no token. Run by scripts/e2e.sh (npm run test:e2e).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeHttpEdge, INCIDENT_ID, type HttpEdgeMode } from '../support/fake-edge.js';
import { CLI, runCli, runCommand, tempDir } from '../support/harness.js';
import { freePort, startPebble, type Pebble } from '../support/pebble.js';
import { createWorld, type World } from '../support/world.js';

let work: string;
let pebble: Pebble;
let world: World;
let lighttpd: ChildProcess;
let edge: FakeHttpEdge;
let webroot: string;
let live: string;
let env: Record<string, string>;
/** What the fake edge does per name; changed by each test. */
const modes: Record<string, HttpEdgeMode> = {};

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

before(async () => {
  work = tempDir('incap-cert-e2e-canary-');
  webroot = join(work, 'www');
  mkdirSync(webroot, { mode: 0o755 });
  writeFileSync(join(webroot, 'index.html'), 'the origin\n');

  // lighttpd: its own config, in the foreground (-D), on a free loopback port.
  const port = await freePort();
  const conf = join(work, 'lighttpd.conf');
  writeFileSync(
    conf,
    [
      `server.document-root = "${webroot}"`,
      `server.bind = "127.0.0.1"`,
      `server.port = ${port}`,
      `server.errorlog = "${join(work, 'lighttpd-error.log')}"`,
      `server.pid-file = "${join(work, 'lighttpd.pid')}"`,
      `server.modules = ()`,
      '',
    ].join('\n'),
  );
  lighttpd = spawn('lighttpd', ['-D', '-f', conf], { stdio: 'ignore' });
  const deadline = Date.now() + 10_000;
  while (!(await listening(port))) {
    assert.ok(lighttpd.exitCode === null && Date.now() < deadline, 'lighttpd did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  // Certbot issues with its webroot plugin: the renewal configuration names the web root, as on a real host.
  pebble = await startPebble(work);
  const certbot = join(work, 'certbot');
  const issued = await runCommand(
    'certbot',
    [
      'certonly',
      '--webroot',
      '-w',
      webroot,
      '-d',
      'example.com',
      '-d',
      'www.example.com',
      '--key-type',
      'ecdsa',
      '--non-interactive',
      '--agree-tos',
      '--register-unsafely-without-email',
      '--server',
      pebble.directory,
      '--config-dir',
      join(certbot, 'config'),
      '--work-dir',
      join(certbot, 'work'),
      '--logs-dir',
      join(certbot, 'logs'),
    ],
    { REQUESTS_CA_BUNDLE: pebble.caFile },
  );
  assert.equal(issued.code, 0, `${issued.stdout}\n${issued.stderr}`);
  live = join(certbot, 'config', 'live');
  const renewal = readFileSync(join(certbot, 'config', 'renewal', 'example.com.conf'), 'utf8');
  assert.match(renewal, /authenticator = webroot/);
  assert.match(renewal, /\[\[webroot_map\]\]/);

  world = await createWorld();
  edge = await FakeHttpEdge.start({ webroot: () => undefined, modes, origin: `127.0.0.1:${port}` });
  env = { ...world.env, INCAP_CERT_EDGE_HTTP: edge.address };
});

after(async () => {
  lighttpd?.kill();
  await edge?.close();
  await world?.close();
  await pebble?.stop();
});

function setModes(next: Record<string, HttpEdgeMode>): void {
  for (const name of Object.keys(modes)) delete modes[name];
  Object.assign(modes, next);
}

function leftovers(): string[] {
  const folder = join(webroot, '.well-known', 'acme-challenge');
  return existsSync(folder) ? readdirSync(folder) : [];
}

interface Document {
  findings: { subject: string; ok: boolean; message: string; fix: string | null }[];
}

async function canary(): Promise<{ code: number | null; byName: Map<string, Document['findings'][number]> }> {
  const result = await runCli(['canary', '--live-dir', live, '--json'], env);
  const document = JSON.parse(result.stdout) as Document;
  return {
    code: result.code,
    byName: new Map(document.findings.map((finding) => [finding.subject.split(' ')[1] ?? '', finding])),
  };
}

describe("canary: Certbot's web root, served by lighttpd, through the edge", () => {
  it('pass: lighttpd serves the token through the edge; nothing left in the web root', async () => {
    setModes({});
    const { code, byName } = await canary();
    assert.equal(code, 0);
    assert.match(byName.get('example.com')?.message ?? '', /: pass: .*served the token \(from this host\)/);
    assert.match(byName.get('www.example.com')?.message ?? '', /: pass: /);
    assert.deepEqual(leftovers(), []);
  });

  it('blocked, redirected, unreachable: the edge stands between; exit 1 with the incident ID and the advice', async () => {
    setModes({ 'example.com': 'block', 'www.example.com': { redirect: 'http://www.example.com:8080$PATH' } });
    const first = await canary();
    assert.equal(first.code, 1);
    assert.match(first.byName.get('example.com')?.message ?? '', new RegExp(`blocked: .*${INCIDENT_ID}`));
    assert.match(first.byName.get('example.com')?.fix ?? '', /exempt \/\.well-known\/acme-challenge\//);
    assert.match(first.byName.get('www.example.com')?.message ?? '', /redirected: .*:8080/);
    setModes({ 'example.com': 'drop' });
    const second = await canary();
    assert.equal(second.code, 1);
    assert.match(second.byName.get('example.com')?.message ?? '', /unreachable/);
    assert.match(second.byName.get('www.example.com')?.message ?? '', /: pass: /);
    assert.deepEqual(leftovers(), []);
  });

  it('not-found: the renewal configuration names a web root lighttpd does not serve', async () => {
    setModes({});
    const other = join(work, 'elsewhere');
    mkdirSync(other, { mode: 0o755 });
    const file = join(live, '..', 'renewal', 'example.com.conf');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace(/^www\.example\.com = .*$/m, `www.example.com = ${other}`));
    try {
      const { code, byName } = await canary();
      assert.equal(code, 1);
      assert.match(byName.get('www.example.com')?.message ?? '', /not-found: .*HTTP 404/);
      assert.match(byName.get('example.com')?.message ?? '', /: pass: /);
      assert.deepEqual(readdirSync(other), [], 'the folders it made there are gone');
    } finally {
      writeFileSync(file, original);
    }
  });

  it('a run stopped half way (SIGTERM while the edge holds the request) leaves no token', async () => {
    setModes({ 'example.com': 'hang' });
    const requested = edge.nextRequest();
    const child = spawn(process.execPath, [CLI, 'canary', '--live-dir', live], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await requested;
    assert.equal(leftovers().length, 1, 'the token is in the web root while the edge is asked');
    child.kill('SIGTERM');
    assert.equal(await exited, 143);
    assert.deepEqual(leftovers(), []);
  });
});
