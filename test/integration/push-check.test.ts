import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { runCli, writeConfig } from '../support/harness.js';
import { wireHost } from '../support/wired-host.js';
import { createPki, issueLeaf, writeCertbotLineage, type Leaf, type Pki } from '../support/pki.js';
import {
  API_ID,
  assertNoSecrets,
  assertOneLineError,
  createWorld,
  secretsOf,
  type World,
} from '../support/world.js';

let pki: Pki;
let ec: Leaf;
before(async () => {
  pki = await createPki();
  ec = await issueLeaf(pki, { names: ['example.com', 'www.example.com'], keyType: 'ec' });
});

let world: World;
afterEach(() => world?.close());
after(() => world?.close());

describe('incap-cert push (by hand)', () => {
  it('--lineage uploads through the map', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
    const result = await runCli(['push', '--lineage', lineage], world.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      'uploaded example.com → site 1234567\nuploaded www.example.com → site 7654321\n',
    );
    assert.deepEqual(
      world.fake.acceptedUploads().map((u) => [u.siteId, u.form.input_hash]),
      [
        ['1234567', ec.fingerprint],
        ['7654321', ec.fingerprint],
      ],
    );
  });

  it('--cert and --key with --site-id replace the map and reach only the named sites', async () => {
    world = await createWorld({
      sites: { '1234567': 'example.com', '7654321': 'www.example.com', '555': 'example.com' },
    });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
    const result = await runCli(
      [
        'push',
        '--cert',
        join(lineage, 'fullchain.pem'),
        '--key',
        join(lineage, 'privkey.pem'),
        '--site-id',
        '555',
      ],
      world.env,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'uploaded example.com, www.example.com → site 555\n');
    assert.deepEqual(
      world.fake.uploads().map((u) => [u.siteId, u.form.auth_type, u.form.input_hash]),
      [['555', 'ECC', ec.fingerprint]],
    );
  });

  it("completes Certbot's cert.pem with the chain.pem beside it, and uploads the full chain", async () => {
    world = await createWorld({ map: { 'example.com': 1234567 } });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
    const cert = join(lineage, 'cert.pem');
    const result = await runCli(['push', '--cert', cert, '--key', join(lineage, 'privkey.pem')], world.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.equal(world.fake.serving('1234567')?.chainLength, 2);
  });

  const usage: [string, string[], RegExp][] = [
    [
      'nothing to push',
      ['push'],
      /^error: push needs something to push: --lineage DIR, or --cert FULLCHAIN --key KEY$/,
    ],
    ['a certificate without its key', ['push', '--cert', '/x.pem'], /^error: push needs --key KEY too$/],
    [
      'both a lineage and files',
      ['push', '--lineage', '/x', '--cert', '/y'],
      /either --lineage DIR or --cert FILE --key FILE, not both/,
    ],
    [
      'a site id that is not a number',
      ['push', '--lineage', '/x', '--site-id', '12a'],
      /^error: --site-id takes a site id \(a positive whole number\), not 12a; see incap-cert --help$/,
    ],
    [
      'an unknown flag',
      ['push', '--lineage', '/x', '--forse'],
      /^error: unknown option --forse \(did you mean --force\?\); see incap-cert --help$/,
    ],
    ['an unknown command', ['upload'], /^error: unknown command upload; see incap-cert --help$/],
    [
      'a flag without its value',
      ['push', '--lineage'],
      /^error: --lineage needs a value; see incap-cert --help$/,
    ],
  ];
  for (const [title, args, pattern] of usage) {
    it(`exits 2 on ${title}, uploading nothing`, async () => {
      world = await createWorld();
      const result = await runCli(args, world.env);
      assert.equal(result.code, 2);
      assert.equal(result.stdout, '');
      assertOneLineError(result.stderr, pattern);
      assert.equal(world.fake.requests.length, 0);
    });
  }
});

describe('incap-cert check', () => {
  it('proves the credentials with one account/verify call, says what each site holds, and prints the plan', async () => {
    world = await createWorld({
      sites: { '1234567': 'example.com', '7654321': 'www.example.com', '42': 'old.example.com' },
      map: { 'example.com': 1234567, 'www.example.com': [7654321, 1234567], 'old.example.com': 42 },
    });
    const le = join(world.dir, 'le');
    writeCertbotLineage(le, 'example.com', ec);
    const host = wireHost(join(le, 'live'), world.env);
    const result = await runCli(['check', '--live-dir', join(le, 'live')], host.env);
    // Site 42 has no certificate on this host: a warning on stderr and exit 1 (issue 12), not only a stdout line.
    assert.equal(result.code, 1, result.stderr);
    // Issue 12: one account/verify call proves the credentials; the account-wide v3 listing says what every site holds.
    // A site v3 shows nothing for is asked of v1 too: the listing is silent about a site the account lacks (9413).
    const asked = world.fake.requests.map((r) => [
      r.endpoint,
      r.headers['x-api-key'] === world.apiKey,
      r.siteId,
    ]);
    assert.deepEqual(asked.slice(0, 2), [
      ['verify', true, undefined],
      ['certificates', true, undefined],
    ]);
    // Last, the key's own record, for its expiry (test/integration/api-key.test.ts).
    assert.deepEqual(asked.at(-1), ['api-clients', true, undefined]);
    assert.deepEqual(
      asked.slice(2, -1).sort(),
      ['1234567', '42', '7654321'].map((site) => ['status', true, site]),
    );
    assert.equal(world.fake.uploads().length, 0);
    const out = result.stdout;
    assert.match(out, /^ok: config .* is valid: 3 names/m);
    assert.match(
      out,
      /^ok: credentials: account .* \(\d+\), plan .*; key from .*config\.json \(api\.key\)$/m,
    );
    assert.match(
      out,
      new RegExp(
        `^ok: plan: ${join(le, 'live', 'example.com')} \\(example\\.com, www\\.example\\.com, expires .*\\) → site 1234567, site 7654321$`,
        'm',
      ),
    );
    // Each site and key type in status's words, with the command that fixes it.
    const lineage = join(le, 'live', 'example.com');
    for (const site of ['1234567 (example.com, www.example.com)', '7654321 (www.example.com)'])
      assert.ok(
        result.stderr.includes(
          `warning: problem: site ${site} ECDSA: missing: Imperva holds no ECDSA certificate for it; fix: incap-cert push --lineage ${lineage}\n`,
        ),
        result.stderr,
      );
    assert.match(
      result.stderr,
      /^warning: problem: site 42 \(old\.example\.com\): no certificate on this host covers it; nothing keeps it current; Imperva holds no custom certificate; fix: certbot certonly --cert-name old\.example\.com -d old\.example\.com$/m,
    );
    assert.equal(result.stderr.split('\n').filter(Boolean).length, 3, result.stderr);
  });

  it('exits 1 with one line naming where the key came from when Imperva refuses the credentials', async () => {
    world = await createWorld({ map: { 'example.com': 1234567 } });
    const le = join(world.dir, 'le');
    writeCertbotLineage(le, 'example.com', ec);
    const wrongKey = 'wrong-key-that-is-also-secret-0001';
    const result = await runCli(['check', '--live-dir', join(le, 'live')], {
      ...world.env,
      IMPERVA_API_KEY: wrongKey,
    });
    assert.equal(result.code, 1);
    assertOneLineError(
      result.stderr,
      /^error: Imperva refused the API credentials: Imperva answered res 9411 .*check api\.id and api\.key\); the key comes from IMPERVA_API_KEY$/,
    );
    assert.equal(world.fake.requests.length, 1, 'one call, and no more');
    assert.equal(world.fake.requests[0]?.headers['x-api-id'], API_ID);
    assertNoSecrets({ stdout: result.stdout, stderr: result.stderr }, [wrongKey, world.apiKey]);
  });

  it('uses the key from the environment over the file', async () => {
    world = await createWorld({ map: { 'example.com': 1234567 } });
    const configFile = writeConfig(
      world.dir,
      { api: { id: API_ID, baseUrl: world.fake.url }, sites: { 'example.com': 1234567 } },
      0o644,
    );
    const le = join(world.dir, 'le');
    writeCertbotLineage(le, 'example.com', ec);
    const host = wireHost(join(le, 'live'), { IMPERVA_API_KEY: world.apiKey });
    const pushed = await runCli(
      ['push', '--config', configFile, '--lineage', join(le, 'live', 'example.com')],
      host.env,
    );
    assert.equal(pushed.code, 0, pushed.stderr);
    const result = await runCli(['check', '--config', configFile, '--live-dir', join(le, 'live')], host.env);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    assert.equal(world.fake.requests[0]?.headers['x-api-key'], world.apiKey);
    assertNoSecrets({ stdout: result.stdout, stderr: result.stderr }, secretsOf(world.apiKey));
  });
});
