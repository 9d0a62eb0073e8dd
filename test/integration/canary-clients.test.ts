/**
 * incap-cert canary for the other ACME clients of config `sources`, through the built CLI: acme.sh's `Le_Webroot`,
 * dehydrated's literal WELLKNOWN / CHALLENGETYPE lines, lego's config `canaryWebroots`; each where it passes, and where
 * the lineage is not-needed or unchecked; the client's own user accepted as an owner of its web roots.
 */
import assert from 'node:assert/strict';
import {
  appendFileSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, before, describe, it } from 'node:test';
import { writeAcmeSh, writeDehydrated, writeLego } from '../support/client-layouts.js';
import { FakeHttpEdge } from '../support/fake-edge.js';
import { runCli, tempDir } from '../support/harness.js';
import { createPki, issueLeaf, type Leaf } from '../support/pki.js';
import { createWorld, type World } from '../support/world.js';

let leaf: Leaf;
before(async () => {
  leaf = await issueLeaf(await createPki(), { names: ['example.com', 'www.example.com'], keyType: 'ec' });
});

let world: World | undefined;
let edge: FakeHttpEdge | undefined;
afterEach(async () => {
  await edge?.close();
  await world?.close();
  edge = undefined;
  world = undefined;
});

/** A world whose config names one client's folder; Certbot's live folder is empty. */
async function setup(
  sources: Record<string, string[]>,
  config: Record<string, unknown>,
  folders: { webroot?: string; challenges?: string },
) {
  world = await createWorld({ config: { sources, ...config } });
  const live = join(world.dir, 'live');
  mkdirSync(live);
  edge = await FakeHttpEdge.start({
    webroot: () => folders.webroot,
    challengeFolder: () => folders.challenges,
  });
  return { live, env: { ...world.env, INCAP_CERT_EDGE_HTTP: edge.address } };
}

function files(folder: string): string[] {
  return existsSync(folder) ? readdirSync(folder, { recursive: true }).map(String) : [];
}

describe('incap-cert canary reads the other clients of config sources', () => {
  it("acme.sh: Le_Webroot's entries by name; a path passes, a DNS plugin is not-needed", async () => {
    const dir = tempDir();
    const home = join(dir, 'acme');
    const webroot = join(dir, 'www');
    mkdirSync(webroot, { mode: 0o755 });
    const { folder } = writeAcmeSh(home, 'example.com', leaf, true);
    // As acme.sh 3.1 writes for `--issue -d example.com -w WEBROOT -d www.example.com --dns dns_cf`.
    appendFileSync(
      join(folder ?? '', 'example.com.conf'),
      `Le_Alt='www.example.com'\nLe_Webroot='${webroot},dns_cf'\n`,
    );
    const { live, env } = await setup({ 'acme.sh': [home] }, {}, { webroot });
    const result = await runCli(['canary', '--live-dir', live, '--json'], env);
    assert.equal(result.code, 0, result.stderr);
    const document = JSON.parse(result.stdout) as { paths: { name: string; verdict: string }[] };
    assert.deepEqual(document.paths.map((path) => `${path.name} ${path.verdict}`).sort(), [
      'example.com pass',
      'www.example.com not-needed',
    ]);
    assert.deepEqual(
      edge?.requests.map((request) => request.host),
      ['example.com'],
    );
    assert.deepEqual(files(join(webroot, '.well-known')), []);
  });

  it('acme.sh: a conf that another user could have written is not read (unchecked)', async () => {
    const dir = tempDir();
    const home = join(dir, 'acme');
    const { folder } = writeAcmeSh(home, 'example.com', leaf, true);
    const conf = join(folder ?? '', 'example.com.conf');
    appendFileSync(conf, `Le_Webroot='${join(dir, 'www')}'\n`);
    chownSync(conf, 4321, 4321);
    const { live, env } = await setup({ 'acme.sh': [home] }, {}, {});
    const result = await runCli(['canary', '--live-dir', live], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /example\.com .*: unchecked: .*example\.com\.conf is refused: .*owned by user 4321/,
    );
    assert.deepEqual(edge?.requests, []);
  });

  it("dehydrated: WELLKNOWN (Debian's ${BASEDIR} form) is the challenge folder itself; it passes", async () => {
    const dir = tempDir();
    const base = join(dir, 'dehydrated');
    writeDehydrated(base, 'example.com', leaf, 1_700_000_000);
    const challenges = join(base, 'acme-challenges');
    mkdirSync(challenges, { mode: 0o755 });
    writeFileSync(join(base, 'config'), 'WELLKNOWN="${BASEDIR}/acme-challenges"\n', { mode: 0o644 });
    const { live, env } = await setup({ dehydrated: [join(base, 'certs')] }, {}, { challenges });
    const result = await runCli(['canary', '--live-dir', live], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /renewal path of example\.com .*: pass/);
    assert.match(result.stdout, /renewal path of www\.example\.com .*: pass/);
    assert.equal(edge?.requests.length, 2);
    assert.deepEqual(files(challenges), [], 'the tokens are gone, the folder stays');
  });

  it("dehydrated: the certificate's own config says dns-01 (not-needed); a computed WELLKNOWN is unchecked", async () => {
    const dir = tempDir();
    const base = join(dir, 'dehydrated');
    const { folder } = writeDehydrated(base, 'example.com', leaf, 1_700_000_000);
    writeFileSync(join(base, 'config'), 'WELLKNOWN="$(pwd)/challenges"\n', { mode: 0o644 });
    const { live, env } = await setup({ dehydrated: [base] }, {}, {});
    const computed = await runCli(['canary', '--live-dir', live], env);
    assert.equal(computed.code, 0, computed.stderr);
    assert.match(computed.stdout, /example\.com .*: unchecked: .*WELLKNOWN=.*not a literal path/);
    writeFileSync(join(folder ?? '', 'config'), 'CHALLENGETYPE="dns-01"\n', { mode: 0o644 });
    const dns = await runCli(['canary', '--live-dir', live], env);
    assert.equal(dns.code, 0, dns.stderr);
    assert.match(dns.stdout, /example\.com .*: not-needed: dehydrated renews with DNS-01/);
    assert.deepEqual(edge?.requests, []);
  });

  it('dehydrated: the config whose CERTDIR holds the certificates is the one read; none: unchecked, saying so', async () => {
    const dir = tempDir();
    const base = join(dir, 'dehydrated');
    writeDehydrated(base, 'example.com', leaf, 1_700_000_000);
    renameSync(join(base, 'certs'), join(base, 'store'));
    const challenges = join(dir, 'challenges');
    mkdirSync(challenges, { mode: 0o755 });
    const { live, env } = await setup({ dehydrated: [join(base, 'store')] }, {}, { challenges });
    const none = await runCli(['canary', '--live-dir', live], env);
    assert.equal(none.code, 0, none.stderr);
    assert.match(
      none.stdout,
      /example\.com .*: unchecked: no dehydrated config keeps its certificates in .*store/,
    );
    writeFileSync(
      join(base, 'config'),
      `CERTDIR="${join(base, 'store')}"\nWELLKNOWN='${challenges}' # served by the web server\n`,
      { mode: 0o644 },
    );
    const found = await runCli(['canary', '--live-dir', live], env);
    assert.equal(found.code, 0, found.stderr);
    assert.match(found.stdout, /renewal path of example\.com .*: pass/);
    assert.deepEqual(files(challenges), []);
  });

  it('lego: canaryWebroots names the web root (pass); a name without one is unchecked, naming the setting', async () => {
    const dir = tempDir();
    const path = join(dir, 'lego');
    const webroot = join(dir, 'www');
    mkdirSync(webroot, { mode: 0o755 });
    writeLego(path, 'example.com', leaf);
    const { live, env } = await setup(
      { lego: [path] },
      { canaryWebroots: { 'example.com': webroot } },
      { webroot },
    );
    const result = await runCli(['canary', '--live-dir', live], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /renewal path of example\.com .*: pass/);
    assert.match(
      result.stdout,
      /www\.example\.com .*: unchecked: lego records no web root; .*canaryWebroots/,
    );
    assert.deepEqual(
      edge?.requests.map((request) => request.host),
      ['example.com'],
    );
    assert.deepEqual(files(join(webroot, '.well-known')), []);
  });
});

describe("incap-cert canary: the ACME client's own user owns its web roots", () => {
  it("a web root owned by the client's user (its folder's owner) is written; another user's is unchecked, naming canaryOwners", async () => {
    const dir = tempDir();
    const home = join(dir, 'acme');
    const mine = join(dir, 'www-acme');
    const theirs = join(dir, 'www-other');
    mkdirSync(mine, { mode: 0o755 });
    mkdirSync(theirs, { mode: 0o755 });
    chownSync(mine, 4321, 4321);
    chownSync(theirs, 5555, 5555);
    const { folder } = writeAcmeSh(home, 'example.com', leaf, true);
    appendFileSync(
      join(folder ?? '', 'example.com.conf'),
      `Le_Alt='www.example.com'\nLe_Webroot='${mine},${theirs}'\n`,
    );
    // acme.sh runs as user 4321: its home is theirs (config sources names that owner and their names).
    for (const path of readdirSync(home, { recursive: true }).map((entry) => join(home, String(entry)))) {
      chownSync(path, 4321, 4321);
    }
    chownSync(home, 4321, 4321);
    const source = { path: home, owner: 4321, names: ['example.com', 'www.example.com'] };
    const { live, env } = await setup(
      { 'acme.sh': [source] as unknown as string[] },
      {},
      {
        webroot: mine,
      },
    );
    const result = await runCli(['canary', '--live-dir', live, '--json'], env);
    assert.equal(result.code, 0, result.stderr);
    const document = JSON.parse(result.stdout) as { findings: { subject: string; message: string }[] };
    const www = document.findings.find((finding) => finding.subject.endsWith(' www.example.com'));
    assert.match(
      www?.message ?? '',
      /unchecked: refused to write there: .*www-other belongs to uid 5555, .*canaryOwners/,
    );
    const apex = document.findings.find((finding) => finding.subject.endsWith(' example.com'));
    assert.match(apex?.message ?? '', /: pass: /);
    assert.equal(
      edge?.requests[0]?.fileUid,
      4321,
      "the token is the client's user's, as acme.sh leaves its own",
    );
    assert.deepEqual(files(join(mine, '.well-known')), []);

    // The same user named in canaryOwners: allowed.
    await edge?.close();
    await world?.close();
    const again = await setup(
      { 'acme.sh': [source] as unknown as string[] },
      { canaryOwners: ['5555'] },
      { webroot: theirs },
    );
    const allowed = await runCli(['canary', '--live-dir', again.live], again.env);
    assert.match(allowed.stdout, /www\.example\.com .*: pass/);
  });
});
