import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { CLI, runCli, runCommand, tempDir } from '../support/harness.js';
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
let rsa: Leaf;
before(async () => {
  pki = await createPki();
  ec = await issueLeaf(pki, { names: ['example.com', 'www.example.com'], keyType: 'ec' });
  rsa = await issueLeaf(pki, { names: ['example.com', 'www.example.com'], keyType: 'rsa' });
});

let world: World;
afterEach(() => world?.close());
after(() => world?.close());

describe('incap-cert deploy (Certbot deploy hook)', () => {
  it('uploads an ECDSA lineage to every mapped site with auth_type=ECC, credentials in headers only', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
    const result = await runCli(['deploy'], {
      ...world.env,
      RENEWED_LINEAGE: lineage,
      RENEWED_DOMAINS: 'ignored.test',
    });

    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      'uploaded example.com → site 1234567\nuploaded www.example.com → site 7654321\n',
    );
    assert.equal(result.stderr, '');

    const uploads = world.fake.uploads();
    assert.deepEqual(
      uploads.map((u) => u.siteId),
      ['1234567', '7654321'],
    );
    for (const upload of uploads) {
      assert.equal(upload.method, 'POST');
      assert.equal(upload.path, '/api/prov/v1/sites/customCertificate/upload');
      assert.match(String(upload.headers['content-type']), /application\/x-www-form-urlencoded/);
      assert.equal(upload.headers['x-api-id'], API_ID);
      assert.equal(upload.headers['x-api-key'], world.apiKey);
      assert.deepEqual(Object.keys(upload.form).sort(), [
        'auth_type',
        'certificate',
        'input_hash',
        'private_key',
        'site_id',
      ]);
      assert.deepEqual(upload.query, {});
      assert.ok(!upload.rawBody.includes(world.apiKey));
      assert.equal(upload.form.auth_type, 'ECC');
      assert.equal(upload.form.input_hash, ec.fingerprint);
      assert.equal(Buffer.from(upload.form.certificate ?? '', 'base64').toString(), ec.fullchainPem);
      assert.equal(Buffer.from(upload.form.private_key ?? '', 'base64').toString(), ec.keyPem);
      assert.equal(upload.res, 0);
      assert.equal(world.fake.serving(upload.siteId ?? '')?.fingerprint, ec.fingerprint);
    }
    assertNoSecrets({ stdout: result.stdout, stderr: result.stderr }, secretsOf(world.apiKey, ec));
  });

  it('uploads an RSA lineage with auth_type=RSA', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', rsa);
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(
      world.fake.uploads().map((u) => [u.siteId, u.form.auth_type, u.form.input_hash]),
      [
        ['1234567', 'RSA', rsa.fingerprint],
        ['7654321', 'RSA', rsa.fingerprint],
      ],
    );
    assert.equal(world.fake.serving('1234567', 'RSA')?.fingerprint, rsa.fingerprint);
  });

  it('runs as deploy when called with no command while RENEWED_LINEAGE is set', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
    const result = await runCli([], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(world.fake.acceptedUploads().length, 2);
  });

  it('uploads the renewed certificate after Certbot moves the symlinks', async () => {
    world = await createWorld();
    const le = join(world.dir, 'le');
    writeCertbotLineage(le, 'example.com', ec, 1);
    const renewed = await issueLeaf(pki, { names: ['example.com', 'www.example.com'] });
    const lineage = writeCertbotLineage(le, 'example.com', renewed, 2);
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(world.fake.serving('1234567')?.fingerprint, renewed.fingerprint);
    assert.equal(world.fake.serving('7654321')?.fingerprint, renewed.fingerprint);
  });

  it('uploads once per site however many names point at it; ids as numbers or strings; wildcards literal', async () => {
    world = await createWorld({
      sites: { '11': 'example.com', '22': 'example.org' },
      // example.org is not on the certificate (a wildcard key matches only the same wildcard): site 33 gets nothing.
      map: { 'Example.com': 11, 'www.example.com': ['11'], '*.example.org': '22', 'example.org': 33 },
    });
    const leaf = await issueLeaf(pki, { names: ['example.com', 'www.example.com', '*.example.org'] });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', leaf);
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      'uploaded example.com, www.example.com → site 11\nuploaded *.example.org → site 22\n',
    );
    assert.deepEqual(
      world.fake.uploads().map((u) => u.siteId),
      ['11', '22'],
    );
  });

  it('exits 0 with one stdout line and no request for a lineage nothing maps', async () => {
    world = await createWorld();
    const leaf = await issueLeaf(pki, { names: ['unrelated.test', 'www.unrelated.test'] });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'unrelated.test', leaf);
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 0);
    assert.equal(
      result.stdout,
      'no Imperva site is mapped to unrelated.test, www.unrelated.test; nothing to upload\n',
    );
    assert.equal(result.stderr, '');
    assert.equal(world.fake.requests.length, 0);
  });

  it('tries every site when one fails, names the failed site and exits 1', async () => {
    world = await createWorld({ map: { 'example.com': [1234567, 999], 'www.example.com': 7654321 } });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 1);
    assert.equal(
      result.stdout,
      'uploaded example.com → site 1234567\nuploaded www.example.com → site 7654321\n' +
        `queued 1 failed site in ${world.stateDir} for the next sync\n`,
    );
    assertOneLineError(
      result.stderr,
      /^error: site 999 \(example\.com\): upload failed: Imperva answered res 9413 "Unknown\/unauthorized site_id" \(unknown or unauthorized site id: check the sites map\)$/,
    );
    assert.deepEqual(
      world.fake.uploads().map((u) => [u.siteId, u.res]),
      [
        ['1234567', 0],
        ['999', 9413],
        ['7654321', 0],
      ],
    );
  });

  it('--dry-run prints the plan with site ids and uploads nothing', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
    const result = await runCli(['deploy', '--dry-run'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 2);
    assert.match(
      lines[0] ?? '',
      /^dry run: would upload example\.com \(ECDSA, sha256 [0-9a-f]{16}…, expires .*\) → site 1234567$/,
    );
    assert.match(lines[1] ?? '', /→ site 7654321$/);
    assert.ok(lines[0]?.includes(ec.fingerprint.slice(0, 16)));
    assert.equal(world.fake.requests.length, 0);
  });

  it("warns on stderr when Imperva's expiry disagrees, and still succeeds", async () => {
    world = await createWorld({ map: { 'example.com': 1234567 } });
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
    world.fake.inject({
      endpoint: 'upload',
      fault: {
        contentType: 'application/json',
        body: JSON.stringify({
          res: 0,
          res_message: 'OK',
          debug_info: { details: { expirationDate: 1460100446000, chainError: false, coverageError: false } },
        }),
      },
    });
    const result = await runCli(['deploy'], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.equal(result.code, 0);
    assert.equal(result.stdout, 'uploaded example.com → site 1234567\n');
    assert.match(
      result.stderr,
      /^warning: site 1234567 \(example\.com\): Imperva reports expiry 2016-04-08T07:27:26\.000Z, but the certificate's notAfter is [^\n]*\n$/,
    );
  });

  it('writes JSON lines to --log-file (mode 0600, folder created) and never the secrets', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
    const logFile = join(tempDir(), 'new', 'folder', 'incap-cert.log');
    const result = await runCli(['deploy', '--verbose', '--log-file', logFile], {
      ...world.env,
      RENEWED_LINEAGE: lineage,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(statSync(logFile).mode & 0o777, 0o600);
    const entries = readFileSync(logFile, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const uploaded = entries.filter((entry) => String(entry.message).startsWith('uploaded '));
    assert.deepEqual(
      uploaded.map((entry) => [entry.level, entry.siteId, entry.fingerprint, entry.authType]),
      [
        ['info', '1234567', ec.fingerprint, 'ECC'],
        ['info', '7654321', ec.fingerprint, 'ECC'],
      ],
    );
    assert.ok(entries.every((entry) => typeof entry.timestamp === 'string'));
    assert.ok(entries.some((entry) => entry.level === 'debug'));
    assert.match(result.stdout, /^debug: /m);
    assertNoSecrets(
      { stdout: result.stdout, stderr: result.stderr, log: readFileSync(logFile, 'utf8') },
      secretsOf(world.apiKey, ec),
    );
  });
});

describe('output to a reader that went away', () => {
  it('keeps the exit code and prints no stack trace when stdout is a closed pipe', async () => {
    world = await createWorld();
    const lineage = writeCertbotLineage(join(world.dir, 'le'), 'example.com', ec);
    // The reader (`true`) is gone before incap-cert writes its first line.
    const script = `(sleep 0.3; "${process.execPath}" "${CLI}" deploy; echo "exit=$?" >&2) | true`;
    const result = await runCommand('bash', ['-c', script], { ...world.env, RENEWED_LINEAGE: lineage });
    assert.match(result.stderr, /^exit=0$/m);
    assert.doesNotMatch(result.stderr, /EPIPE|^\s+at /m);
    assert.equal(world.fake.acceptedUploads().length, 2, 'the uploads happened all the same');
  });
});
