/**
 * `check` answers "am I done?": each finding through the built CLI against the fake API on 127.0.0.1, on a host
 * wired as install leaves it (test/support/wired-host.ts), so that the finding under test is the only problem.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runCli } from '../support/harness.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf, type Pki } from '../support/pki.js';
import { wireHost, type WiredHost } from '../support/wired-host.js';
import { createWorld, type World } from '../support/world.js';

interface Finding {
  kind: string;
  subject: string;
  ok: boolean;
  message: string;
  fix: string | null;
}

let pki: Pki;
let leaf: Leaf;
before(async () => {
  pki = await createPki();
  leaf = await issueLeaf(pki, { names: ['example.com', 'www.example.com'] });
});

let world: World | undefined;
afterEach(() => world?.close());
after(() => world?.close());

/** A world with the lineage example.com, pushed, on a wired host: check passes until a test breaks something. */
async function doneHost(
  options: Parameters<typeof createWorld>[0] = {},
  lineage: Leaf = leaf,
): Promise<{ world: World; host: WiredHost; live: string }> {
  world = await createWorld(options);
  const live = join(world.dir, 'le', 'live');
  writeCertbotLineage(join(world.dir, 'le'), 'example.com', lineage);
  const host = wireHost(live, world.env);
  const pushed = await runCli(['sync', '--live-dir', live], host.env);
  assert.equal(pushed.code, 0, pushed.stderr);
  return { world, host, live };
}

async function findingsOf(args: string[], env: Record<string, string>): Promise<Finding[]> {
  const result = await runCli(['check', '--json', ...args], env);
  return (JSON.parse(result.stdout) as { findings: Finding[] }).findings;
}

function problems(findings: readonly Finding[]): Finding[] {
  return findings.filter((finding) => !finding.ok);
}

describe('check: every mapped site and key type', () => {
  it('all done: exit 0, each site current', async () => {
    const { host, live } = await doneHost();
    const result = await runCli(['check', '--live-dir', live], host.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.match(
      result.stdout,
      /^ok: site 1234567 \(example\.com\) (ECDSA|ECC): current, Imperva holds this host's certificate until /m,
    );
  });

  it('an unknown site id is named with the name that maps it (exit 1)', async () => {
    world = await createWorld({ map: { 'example.com': 1234567, 'www.example.com': 999 } });
    const live = join(world.dir, 'le', 'live');
    writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const host = wireHost(live, world.env);
    const result = await runCli(['check', '--live-dir', live], host.env);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /^warning: problem: site 999 \(www\.example\.com\): unknown site id: Imperva does not know it, or the API key has no access to it \(res 9413\); fix: correct the site id of "www\.example\.com" in the sites map of /m,
    );
    const found = problems(await findingsOf(['--live-dir', live], host.env));
    assert.deepEqual(
      found.filter((finding) => finding.kind === 'unknown-site').map((finding) => finding.subject),
      ['999'],
    );
  });

  it('a site behind (outdated: Imperva holds an older certificate) is a finding with the upload that fixes it', async () => {
    const { world: w, host, live } = await doneHost();
    const renewed = await issueLeaf(pki, { names: ['example.com', 'www.example.com'] });
    writeCertbotLineage(join(w.dir, 'le'), 'example.com', renewed, 2);
    const result = await runCli(['check', '--live-dir', live], host.env);
    assert.equal(result.code, 1, result.stderr);
    const lineage = join(live, 'example.com');
    assert.ok(result.stderr.includes(`: outdated: Imperva holds another certificate until `), result.stderr);
    // (The CA's schedule says the edge is behind too: src/ari/lineages.ts.)
    const found = problems(await findingsOf(['--live-dir', live], host.env)).filter(
      (finding) => finding.kind !== 'edge-behind',
    );
    assert.deepEqual(
      found.map((finding) => [finding.kind, finding.subject, finding.fix]),
      [
        ['outdated', '1234567', `incap-cert push --lineage ${lineage}`],
        ['outdated', '7654321', `incap-cert push --lineage ${lineage}`],
      ],
    );
    assert.equal(w.fake.uploads().length, 2, 'check uploads nothing');
  });

  it('a site whose upload failed is queued (exit 1)', async () => {
    world = await createWorld({ map: { 'example.com': 1234567 } });
    const live = join(world.dir, 'le', 'live');
    writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const host = wireHost(live, world.env);
    world.fake.inject({ endpoint: 'upload', times: Infinity, fault: { res: 9999 } });
    assert.equal((await runCli(['sync', '--live-dir', live], host.env)).code, 1);
    const found = problems(await findingsOf(['--live-dir', live], host.env));
    assert.deepEqual(
      found.map((finding) => [finding.kind, finding.subject, finding.fix]),
      [['queued', '1234567', 'incap-cert sync']],
    );
  });

  it('an expired lineage is flagged', async () => {
    const old = await issueLeaf(pki, {
      names: ['example.com', 'www.example.com'],
      notBefore: new Date(Date.now() - 100 * 86_400_000),
      notAfter: new Date(Date.now() - 10 * 86_400_000),
    });
    world = await createWorld();
    const live = join(world.dir, 'le', 'live');
    writeCertbotLineage(join(world.dir, 'le'), 'example.com', old);
    const host = wireHost(live, world.env);
    const found = problems(await findingsOf(['--live-dir', live], host.env));
    const expired = found.find((finding) => finding.kind === 'lineage');
    assert.ok(expired, JSON.stringify(found));
    assert.match(expired.message, /example\.com .* expired \d{4}-/);
    assert.equal(expired.fix, 'certbot renew --cert-name example.com');
  });

  it('a wildcard lineage that would cover a mapped name but is not mapped: the map line to add', async () => {
    const wild = await issueLeaf(pki, { names: ['*.example.com'] });
    world = await createWorld({ map: { 'www.example.com': 7654321 } });
    const live = join(world.dir, 'le', 'live');
    writeCertbotLineage(join(world.dir, 'le'), 'example.com', wild);
    const host = wireHost(live, world.env);
    const result = await runCli(['check', '--live-dir', live], host.env);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /^warning: problem: site 7654321 \(www\.example\.com\): .*live\/example\.com \(\*\.example\.com\) covers www\.example\.com in TLS terms, but the sites map sends none of its names to site 7654321; fix: add "\*\.example\.com": 7654321 to sites in /m,
    );
    // A certificate does cover it, in TLS terms: no line says none does.
    assert.doesNotMatch(result.stderr + result.stdout, /no certificate on this host covers it/);
  });

  it('a wildcard mapped to another site: the map line names both sites', async () => {
    const wild = await issueLeaf(pki, { names: ['*.example.com'] });
    world = await createWorld({ map: { '*.example.com': 1234567, 'www.example.com': 7654321 } });
    const live = join(world.dir, 'le', 'live');
    writeCertbotLineage(join(world.dir, 'le'), 'example.com', wild);
    const host = wireHost(live, world.env);
    const found = problems(await findingsOf(['--live-dir', live], host.env)).filter(
      (finding) => finding.subject === '7654321',
    );
    assert.deepEqual(
      found.map((finding) => [finding.kind, finding.fix]),
      [['coverage', `make sites["*.example.com"] [1234567,7654321] in ${world.configFile}`]],
    );
  });

  it('warnDays beyond a third of the shortest lifetime in use is a finding (exit 1)', async () => {
    const { host, live } = await doneHost({ config: { warnDays: 40 } });
    const result = await runCli(['check', '--live-dir', live], host.env);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /^warning: problem: warnDays 40 exceeds a third \(30 days\) of the shortest lifetime in use \(90 days, example\.com\)/m,
    );
  });

  it('a key type that differs from what the site holds is named, with the Certbot command', async () => {
    const { host, live } = await doneHost();
    // Certbot would renew with an RSA key; the sites hold ECDSA.
    writeFileSync(
      host.renewalConf('example.com'),
      'version = 2.11.0\n[renewalparams]\nauthenticator = webroot\nwebroot_path = /srv/www,\nkey_type = rsa\n',
    );
    const result = await runCli(['check', '--live-dir', live], host.env);
    assert.equal(result.code, 1, result.stderr);
    const found = problems(await findingsOf(['--live-dir', live], host.env));
    assert.deepEqual(
      found.map((finding) => [finding.kind, finding.fix]),
      [['key-type', 'certbot reconfigure --cert-name example.com --key-type ecdsa']],
    );
    assert.match(found[0]?.message ?? '', /with an RSA key .* hold only (ECDSA|ECC)/);
  });
});

describe("check at the run's deadline", () => {
  it('sites left unasked are one line with a count', async () => {
    const sites: Record<string, string> = {};
    const map: Record<string, number> = {};
    for (let n = 1; n <= 6; n += 1) {
      sites[`10${n}`] = `s${n}.example.com`;
      map[`s${n}.example.com`] = 100 + n;
    }
    world = await createWorld({ sites, map, config: { deadlineSeconds: 2, concurrency: 1 } });
    const live = join(world.dir, 'le', 'live');
    const host = wireHost(live, world.env);
    // Imperva answers slowly: the listing and each site's status take longer than the run has.
    world.fake.inject({ endpoint: 'certificates', times: Infinity, fault: { delayMs: 5000 } });
    world.fake.inject({ endpoint: 'status', times: Infinity, fault: { delayMs: 5000 } });
    const result = await runCli(['check', '--live-dir', live], host.env);
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stderr
      .split('\n')
      .filter((line) => /not asked before the run's deadline/.test(line));
    assert.equal(lines.length, 1, result.stderr);
    assert.match(
      lines[0] ?? '',
      /problem: 6 mapped sites not asked before the run's deadline \(101, 102, 103, …\); fix: /,
    );
    assert.doesNotMatch(result.stderr, /site 10\d \(s\d\.example\.com\)/);
  });
});
